/**
 * The daemon's wire and its promises to a command, with commands of the test's own making (the end-to-end
 * file test/e2e/core/daemon.test.ts runs the real CLI through it).
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ask, lines, serveDaemon, type RunCommand } from './daemon.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function daemon(run: RunCommand): Promise<{ socket: string; log: string[]; stopped: Promise<number> }> {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'slipway-daemon-unit-')));
  const socket = path.join(dir, 'daemon', 'd.sock');
  const log: string[] = [];
  const stopped = serveDaemon({ socket, run, idleMs: 60_000, version: 'test', log: (l) => log.push(l) });
  for (let i = 0; i < 100 && !(await ask(socket, { type: 'ping' }, 200)); i++) await new Promise((r) => setTimeout(r, 20));
  cleanup.push(async () => {
    await ask(socket, { type: 'stop' });
    await stopped;
    rmSync(dir, { recursive: true, force: true });
  });
  return { socket, log, stopped };
}

interface Client {
  messages: Array<Record<string, unknown>>;
  send(message: object): void;
  closed: Promise<void>;
  until(type: string): Promise<Record<string, unknown>>;
}

function client(socket: string, command: Record<string, unknown>): Client {
  const conn = net.connect(socket);
  const messages: Array<Record<string, unknown>> = [];
  lines(conn, (message) => messages.push(message));
  conn.on('connect', () => conn.write(`${JSON.stringify({ type: 'command', env: { PATH: process.env.PATH ?? '' }, cwd: os.tmpdir(), ...command })}\n`));
  const closed = new Promise<void>((resolve) => conn.on('close', () => resolve()));
  return {
    messages,
    send: (message) => conn.write(`${JSON.stringify(message)}\n`),
    closed,
    async until(type) {
      for (let i = 0; i < 500; i++) {
        const found = messages.find((m) => m.type === type);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no ${type} message; got ${JSON.stringify(messages)}`);
    },
  };
}

it("runs a command as the client's process would: its arguments, environment, folder and umask, then puts the daemon's back", async () => {
  const envBefore = { ...process.env };
  const cwdBefore = process.cwd();
  const umaskBefore = process.umask();
  const seen: Record<string, unknown>[] = [];
  const { socket } = await daemon(async (argv, out, env) => {
    seen.push({ argv, key: env.SOME_KEY, processKey: process.env.SOME_KEY, home: process.env.HOME, cwd: process.cwd(), umask: process.umask() });
    out.stdout('a line');
    out.write?.('stderr', 'raw ');
    return 7;
  });
  const folder = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'slipway-daemon-cwd-')));
  cleanup.push(() => rmSync(folder, { recursive: true, force: true }));
  const c = client(socket, { argv: ['pr', 'list'], env: { SOME_KEY: 'k-client', HOME: '/home/client' }, cwd: folder, umask: 0o077 });
  expect(await c.until('exit')).toEqual({ type: 'exit', code: 7 });
  expect(seen).toEqual([{ argv: ['pr', 'list'], key: 'k-client', processKey: 'k-client', home: '/home/client', cwd: folder, umask: 0o077 }]);
  expect(c.messages.filter((m) => m.type === 'stdout' || m.type === 'stderr')).toEqual([
    { type: 'stdout', data: 'a line\n' },
    { type: 'stderr', data: 'raw ' },
  ]);
  expect(process.env).toEqual(envBefore);
  expect(process.cwd()).toBe(cwdBefore);
  expect(process.umask()).toBe(umaskBefore);
});

it('answers busy while a command runs, and stops only after it when asked to stop meanwhile', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const { socket, stopped } = await daemon(async () => {
    await held;
    return 0;
  });
  const first = client(socket, { argv: ['run', 'x'] });
  await first.until('accepted');
  const second = client(socket, { argv: ['pr', 'list'] });
  expect(await second.until('busy')).toMatchObject({ reason: 'running another command' });
  expect(await ask(socket, { type: 'stop' })).toMatchObject({ type: 'stopping', busy: true });
  const third = client(socket, { argv: ['pr', 'list'] });
  expect(await third.until('busy')).toMatchObject({ type: 'busy' });
  release();
  expect(await first.until('exit')).toEqual({ type: 'exit', code: 0 });
  expect(await stopped).toBe(0);
});

it('gives a listening command the first signal; a second ends the client at once and the daemon stays', async () => {
  let stopping!: () => void;
  const stop = new Promise<void>((resolve) => (stopping = resolve));
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let signals = 0;
  const { socket, log } = await daemon(async () => {
    const handler = () => {
      signals++;
      stopping();
    };
    process.on('SIGINT', handler);
    await stop;
    await finished; // a slow clean stop
    process.off('SIGINT', handler);
    return 130;
  });
  const c = client(socket, { argv: ['run', 'x'] });
  await c.until('accepted');
  c.send({ type: 'signal', signal: 'SIGINT' });
  await stop;
  c.send({ type: 'signal', signal: 'SIGINT' });
  expect(await c.until('exit')).toEqual({ type: 'exit', code: 130 });
  await c.closed;
  expect(signals).toBe(1); // the command saw one; the second did not reach its "quit at once"
  finish();
  for (let i = 0; i < 100 && !log.some((l) => l.startsWith('served "run x"')); i++) await new Promise((r) => setTimeout(r, 10));
  expect(log.some((l) => l.startsWith('served "run x": exit 130'))).toBe(true);
  expect(await ask(socket, { type: 'ping' })).toMatchObject({ type: 'pong', busy: false, served: 1 });
});

it('a hang-up stops a command that stops cleanly on SIGTERM', async () => {
  const seen: string[] = [];
  const { socket } = await daemon(async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const handler = (signal: string) => {
      seen.push(signal);
      stop();
    };
    process.on('SIGTERM', handler);
    await stopped;
    process.off('SIGTERM', handler);
    return 143;
  });
  const c = client(socket, { argv: ['run', 'x'] });
  await c.until('accepted');
  c.send({ type: 'signal', signal: 'SIGHUP' });
  expect(await c.until('exit')).toEqual({ type: 'exit', code: 143 });
  expect(seen).toEqual(['SIGTERM']);
});

it('ends the client of a command that does not listen for the signal, as the signal would have', async () => {
  const { socket } = await daemon(() => new Promise<number>((resolve) => setTimeout(() => resolve(0), 300)));
  const c = client(socket, { argv: ['pr', 'list'] });
  await c.until('accepted');
  c.send({ type: 'signal', signal: 'SIGTERM' });
  expect(await c.until('exit')).toEqual({ type: 'exit', code: 143 });
});

it('closes a connection whose first line is not a command, and runs nothing for it', async () => {
  let runs = 0;
  const { socket } = await daemon(async () => {
    runs++;
    return 0;
  });
  const bad = client(socket, { argv: 'not a list' });
  await bad.closed;
  expect(bad.messages).toEqual([]);
  const c = client(socket, { argv: ['pr', 'list'] });
  await c.until('exit');
  expect(runs).toBe(1);
});

it('answers before finishing what a command left for later, and finishes it, in the command\'s environment, before the next command', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const order: string[] = [];
  const { socket, log } = await daemon(async (argv, out) => {
    order.push(`run ${argv[0]}`);
    if (argv[0] === 'first') {
      out.later?.(held.then(() => order.push(`later sees ${process.env.SOME_KEY}`)));
      out.later?.(Promise.reject(new Error('could not remove the clone')));
    }
    return 0;
  });
  const first = client(socket, { argv: ['first'], env: { SOME_KEY: 'k-first' } });
  expect(await first.until('exit')).toEqual({ type: 'exit', code: 0 });
  // Answered while the later work still waits: a command arriving now finds the daemon busy.
  const meanwhile = client(socket, { argv: ['second'] });
  expect(await meanwhile.until('busy')).toMatchObject({ type: 'busy' });
  release();
  for (let i = 0; i < 100 && !log.some((l) => l.includes('could not remove the clone')); i++) await new Promise((r) => setTimeout(r, 10));
  const after = client(socket, { argv: ['third'] });
  expect(await after.until('exit')).toEqual({ type: 'exit', code: 0 });
  expect(order).toEqual(['run first', 'later sees k-first', 'run third']);
  // A failure of the later work is logged, never sent to a client that has its answer.
  expect(log.some((l) => l.includes('after "first": could not remove the clone'))).toBe(true);
});
