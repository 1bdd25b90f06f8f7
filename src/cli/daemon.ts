/**
 * The Slipway daemon: one long-lived process that runs the CLI's commands for `bin/slipway.js`, so a command
 * pays for Node's start, loading the bundle and V8's warm-up once instead of every time (the way Gradle's daemon
 * serves builds). It is opt-in: `slipway daemon start`.
 *
 * - It listens on a unix socket in `$SLIPWAY_HOME/daemon/`, a folder only its owner may enter (checked by both
 *   sides), named for the build and the Node version: a client of another build never reaches it.
 * - It runs one command at a time, as the client's process would: with the client's arguments, environment,
 *   working folder and umask, its output sent back as it is written. A client that finds it busy runs the
 *   command itself.
 * - The client's Ctrl-C (or SIGTERM, SIGHUP) reaches the command as the signal would; a client that goes away
 *   stops its command as SIGTERM would.
 * - It stops when asked (`slipway daemon stop`), after an idle time, or when its memory has grown too large.
 *
 * The wire is JSON lines. Client to daemon: `command` (once, first), `signal`, or `ping` / `stop` on their own.
 * Daemon to client: `accepted` or `busy`, then `stdout` / `stderr` (raw text), then `exit`; `pong`; `stopping`.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Output } from './output.js';
import { UsageError } from './home.js';
import { keepSqliteStoreOpen } from '../store/index.js';

/** Where a daemon of this build listens, as `bin/slipway.js` worked it out; `socket` is null when it cannot. */
export interface DaemonLocation {
  dir: string;
  socket: string | null;
  /** Why there is no socket (a home folder whose path is too long for one). */
  reason?: string;
  /** The launcher to start the daemon with. */
  bin: string;
}

export type RunCommand = (argv: string[], out: Output, env: NodeJS.ProcessEnv) => Promise<number>;

interface CommandRequest {
  type: 'command';
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  umask?: number;
  terminal?: { columns?: number } | null;
}

type ClientMessage = CommandRequest | { type: 'signal'; signal: string } | { type: 'ping' } | { type: 'stop' };

export const DEFAULT_IDLE_MINUTES = 30;
/** After a command the daemon stops if it holds more than this: a fresh one starts small again. */
const MAX_RSS_BYTES = 1024 * 1024 * 1024;
const SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);
const MAX_LOG_BYTES = 1024 * 1024;

/** A daemon's folder must be the user's own and closed to everyone else: the client sends its environment there. */
export async function checkPrivateDir(dir: string): Promise<void> {
  const st = await lstat(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new UsageError(`${dir} must be a folder of yours that no one else may enter: fix it with chmod 700 "${dir}" (and chown it to yourself)`);
  }
}

/** Reads JSON lines from a socket; a line that is not JSON closes it. */
export function lines(conn: net.Socket, onMessage: (message: Record<string, unknown>) => void): void {
  let buffer = '';
  conn.setEncoding('utf8');
  conn.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      try {
        onMessage(JSON.parse(line) as Record<string, unknown>);
      } catch {
        conn.destroy();
        return;
      }
    }
  });
}

function send(conn: net.Socket, message: object): void {
  if (!conn.destroyed && conn.writable) conn.write(`${JSON.stringify(message)}\n`);
}

/** One request-and-answer exchange with a daemon (ping or stop); null when none answers. */
export async function ask(socket: string, message: ClientMessage, timeoutMs = 2_000): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const conn = net.connect(socket);
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (answer: Record<string, unknown> | null) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(answer);
    };
    conn.on('error', () => done(null));
    conn.on('close', () => done(null));
    conn.on('connect', () => send(conn, message));
    lines(conn, (answer) => done(answer));
  });
}

export interface ServeOptions {
  socket: string;
  run: RunCommand;
  idleMs: number;
  version: string;
  log: (line: string) => void;
}

/** Serves commands until stopped; resolves with the exit code of the daemon process. */
export async function serveDaemon(opts: ServeOptions): Promise<number> {
  const dir = path.dirname(opts.socket);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await checkPrivateDir(dir);
  const other = await ask(opts.socket, { type: 'ping' });
  if (other) throw new UsageError(`a Slipway daemon of this build is already running (pid ${String(other.pid)}); stop it with: slipway daemon stop`);
  // Nothing answers: a socket file left by a daemon that died.
  await rm(opts.socket, { force: true });

  const startedAt = Date.now();
  let served = 0;
  let busy = false;
  let stopping = false;
  let stopAfterCommand = false;
  let idle: NodeJS.Timeout | undefined;
  const server = net.createServer();
  let finished!: (code: number) => void;
  const closed = new Promise<number>((resolve) => (finished = resolve));

  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(idle);
    opts.log(`stopping: ${why}`);
    server.close(() => finished(0));
    void rm(opts.socket, { force: true });
  };
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => stop(`idle for ${Math.round(opts.idleMs / 60_000)} min`), opts.idleMs);
    idle.unref();
  };

  const runCommand = async (conn: net.Socket, request: CommandRequest, onSignal: (deliver: (signal: string) => void) => void) => {
    if (busy || stopping || stopAfterCommand) {
      send(conn, { type: 'busy', reason: busy ? 'running another command' : 'stopping' });
      conn.end();
      return;
    }
    const saved = { env: { ...process.env }, cwd: process.cwd(), umask: process.umask() };
    try {
      process.chdir(request.cwd);
    } catch {
      // The client's folder is gone or closed to us: the client runs the command itself and reports it.
      send(conn, { type: 'busy', reason: 'cannot enter the working folder' });
      conn.end();
      return;
    }
    busy = true;
    clearTimeout(idle);
    let ended = false;
    // The command sees the client's environment, through its `env` argument and process.env alike (git's PATH,
    // os.homedir(), os.tmpdir() ...), and creates files with the client's umask.
    replaceEnv(request.env);
    if (typeof request.umask === 'number') process.umask(request.umask);
    const afterwards: Promise<unknown>[] = [];
    const out: Output = {
      stdout: (line) => !ended && send(conn, { type: 'stdout', data: `${line}\n` }),
      stderr: (line) => !ended && send(conn, { type: 'stderr', data: `${line}\n` }),
      write: (stream, text) => !ended && send(conn, { type: stream, data: text }),
      terminal: request.terminal ?? null,
      later: (work) => afterwards.push(work),
    };
    let delivered = false;
    const listens = (signal: NodeJS.Signals) => process.listenerCount(signal) > 0;
    const deliver = (signal: string) => {
      const code = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15);
      // A command that listens (a run stops cleanly) gets the first signal; one that does not would have died
      // of it. A hang-up (the terminal closed) goes to a command that stops cleanly on SIGTERM: it would have
      // died of it too, not gone on unseen. A second signal ("quit at once") ends the client's wait now, while
      // the command, stopping already, finishes its clean stop here: in a process of its own it would exit,
      // and take the daemon with it.
      const asked = signal as NodeJS.Signals;
      const target = listens(asked) ? asked : asked === 'SIGHUP' && listens('SIGTERM') ? 'SIGTERM' : null;
      if (!delivered && target) {
        delivered = true;
        process.emit(target, target);
      } else finish(code);
    };
    const finish = (code: number) => {
      if (ended) return;
      ended = true;
      send(conn, { type: 'exit', code });
      conn.end();
    };
    conn.on('close', () => {
      if (!ended) {
        ended = true;
        opts.log(`client of "${request.argv.slice(0, 2).join(' ')}" went away: stopping the command`);
        if (busy) deliver('SIGTERM');
      }
    });
    onSignal(deliver);
    send(conn, { type: 'accepted', pid: process.pid });
    served++;
    const began = Date.now();
    let code = 1;
    try {
      try {
        code = await opts.run(request.argv, out, process.env);
      } catch (error) {
        out.stderr(`error: ${error instanceof Error ? error.message : String(error)}`);
      }
      // The answer first; what the command left for later is done before the next one (which meanwhile finds the
      // daemon busy).
      opts.log(`served "${request.argv.slice(0, 2).join(' ')}": exit ${code} in ${Date.now() - began} ms`);
      finish(code);
      for (const result of await Promise.allSettled(afterwards)) {
        if (result.status === 'rejected') opts.log(`after "${request.argv.slice(0, 2).join(' ')}": ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`);
      }
    } finally {
      replaceEnv(saved.env);
      process.umask(saved.umask);
      try {
        process.chdir(saved.cwd);
      } catch {
        process.chdir('/');
      }
      busy = false;
    }
    // Between commands, collect the command's garbage at once: a smaller heap keeps the daemon's memory flat, and
    // every process it starts (git, the sandbox) is forked from it, at a cost that grows with its size.
    setImmediate(() => (globalThis as { gc?: () => void }).gc?.());
    if (stopAfterCommand) stop('asked to');
    else if (process.memoryUsage().rss > MAX_RSS_BYTES) stop(`memory grew past ${MAX_RSS_BYTES / 2 ** 20} MB`);
    else armIdle();
  };

  server.on('connection', (conn) => {
    conn.on('error', () => undefined);
    let first = true;
    let deliver: ((signal: string) => void) | null = null;
    lines(conn, (message) => {
      if (!first) {
        if (message.type === 'signal' && typeof message.signal === 'string' && SIGNALS.has(message.signal)) deliver?.(message.signal);
        return;
      }
      first = false;
      if (message.type === 'ping') {
        send(conn, { type: 'pong', pid: process.pid, version: opts.version, busy, served, upMs: Date.now() - startedAt, memory: process.memoryUsage() });
        conn.end();
      } else if (message.type === 'stop') {
        send(conn, { type: 'stopping', pid: process.pid, busy });
        conn.end();
        if (busy) {
          opts.log('asked to stop: stopping after the current command');
          stopAfterCommand = true;
        } else stop('asked to');
      } else if (message.type === 'command' && isCommand(message)) {
        void runCommand(conn, message, (d) => (deliver = d));
      } else {
        conn.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socket, () => resolve());
  });
  opts.log(`listening on ${opts.socket} (pid ${process.pid}, Slipway ${opts.version}, Node ${process.version})`);
  armIdle();
  return closed;
}

function isCommand(message: Record<string, unknown>): message is CommandRequest & Record<string, unknown> {
  return (
    Array.isArray(message.argv) &&
    message.argv.every((a) => typeof a === 'string') &&
    typeof message.cwd === 'string' &&
    typeof message.env === 'object' &&
    message.env !== null
  );
}

function replaceEnv(next: Record<string, string | undefined>): void {
  for (const key of Object.keys(process.env)) delete process.env[key];
  for (const [key, value] of Object.entries(next)) if (typeof value === 'string') process.env[key] = value;
}

/** `slipway daemon start`: starts one in the background and waits until it answers. */
export async function daemonStart(where: DaemonLocation, idleMinutes: number, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const socket = requireSocket(where);
  await mkdir(where.dir, { recursive: true, mode: 0o700 });
  await checkPrivateDir(where.dir);
  const running = await ask(socket, { type: 'ping' });
  if (running) {
    out.stdout(`A Slipway daemon is already running (pid ${String(running.pid)}).`);
    return 0;
  }
  const logFile = path.join(where.dir, 'daemon.log');
  // A line per command: a log past 1 MB starts afresh, the last one kept beside it.
  if (((await stat(logFile).catch(() => null))?.size ?? 0) > MAX_LOG_BYTES) await rename(logFile, `${logFile}.1`).catch(() => undefined);
  const log = openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, ['--expose-gc', where.bin, 'daemon', 'serve', '--idle', String(idleMinutes)], {
    detached: true,
    stdio: ['ignore', log, log],
    env,
    cwd: where.dir,
  });
  closeSync(log);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));
  child.unref();
  // The first start compiles the bundle and writes its code cache: give it time on a slow machine.
  for (let waited = 0; waited < 20_000; waited += 100) {
    const pong = await ask(socket, { type: 'ping' }, 1_000);
    if (pong) {
      out.stdout(`Slipway daemon started (pid ${String(pong.pid)}): commands now run in it, without loading Slipway each time.`);
      out.stdout(`  It stops after ${idleMinutes} idle minutes, or with: slipway daemon stop   (log: ${logFile})`);
      // A daemon of another build (Slipway rebuilt or upgraded, another Node) serves no client of this one.
      for (const other of (await daemonSockets(where)).filter((s) => s !== socket)) {
        const answer = await askToStop(other);
        if (answer) out.stdout(`  Stopped the daemon of another build (pid ${String(answer.pid)})${answer.busy ? ' once its command ends' : ''}: this build's commands come here.`);
      }
      return 0;
    }
    if (exited !== null) break;
    await sleep(100);
  }
  const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n  ');
  out.stderr(`error: the Slipway daemon did not start${exited !== null ? ` (it exited with ${exited})` : ''}.\n  ${tail || `see ${logFile}`}`);
  if (exited === null) child.kill();
  return 1;
}

/** Asks the daemon on `socket` to stop (after its command, when busy); a socket nothing answers on is removed. */
async function askToStop(socket: string): Promise<Record<string, unknown> | null> {
  const answer = await ask(socket, { type: 'stop' });
  if (!answer) await rm(socket, { force: true }); // left by a daemon that died
  return answer;
}

/** `slipway daemon stop`: stops this build's daemon and any left by earlier builds. */
export async function daemonStop(where: DaemonLocation, out: Output): Promise<number> {
  const sockets = await daemonSockets(where);
  let stopped = 0;
  for (const socket of sockets) {
    const answer = await askToStop(socket);
    if (!answer) continue;
    for (let waited = 0; waited < 10_000 && (await ask(socket, { type: 'ping' }, 500)); waited += 100) await sleep(100);
    out.stdout(`Stopped the Slipway daemon (pid ${String(answer.pid)})${answer.busy ? ' after its command ended' : ''}${socket === where.socket ? '' : ' of an earlier build'}.`);
    stopped++;
  }
  if (stopped === 0) out.stdout('No Slipway daemon is running.');
  return 0;
}

/** `slipway daemon status`. */
export async function daemonStatus(where: DaemonLocation, out: Output, json: boolean): Promise<number> {
  const pong = where.socket ? await ask(where.socket, { type: 'ping' }) : null;
  const others: number[] = [];
  for (const socket of await daemonSockets(where)) {
    if (socket === where.socket) continue;
    const answer = await ask(socket, { type: 'ping' });
    if (answer) others.push(Number(answer.pid));
  }
  if (json) {
    out.stdout(JSON.stringify({ running: !!pong, pid: pong?.pid ?? null, socket: where.socket, busy: pong?.busy ?? false, served: pong?.served ?? 0, upMs: pong?.upMs ?? null, memory: pong?.memory ?? null, otherBuilds: others }));
    return 0;
  }
  if (pong) out.stdout(`running (pid ${String(pong.pid)}, ${String(pong.served)} commands served, up ${Math.round(Number(pong.upMs) / 1000)} s${pong.busy ? ', busy' : ''}) on ${where.socket}`);
  else out.stdout(`not running${where.socket ? '' : `: ${where.reason}`}; start it with: slipway daemon start`);
  if (others.length) out.stdout(`daemons of earlier builds still run (pid ${others.join(', ')}); slipway daemon stop stops them`);
  return 0;
}

/** `slipway daemon serve`: the daemon itself (started by `daemon start`). */
export async function daemonServe(where: DaemonLocation, idleMinutes: number, run: RunCommand, version: string): Promise<number> {
  const socket = requireSocket(where);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  // The store stays open from one command to the next (each checks it is still the same file).
  const closeStore = await keepSqliteStoreOpen();
  try {
    return await serveDaemon({ socket, run, idleMs: idleMinutes * 60_000, version, log });
  } finally {
    await closeStore();
  }
}

function requireSocket(where: DaemonLocation): string {
  if (!where.socket) throw new UsageError(`the daemon cannot run: ${where.reason ?? 'no socket path'}`);
  return where.socket;
}

async function daemonSockets(where: DaemonLocation): Promise<string[]> {
  const names = await readdir(where.dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.sock')).map((n) => path.join(where.dir, n));
}
