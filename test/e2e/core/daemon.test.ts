/**
 * `slipway daemon`: the CLI as the client of a long-lived Slipway process. Commands must behave exactly as in a
 * fresh process (arguments, environment, working folder, output, exit codes, Ctrl-C), and every way the daemon
 * can be missing, busy, dead or unsafe must leave the command running in the client's own process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../support/cli.js';
import { ROOT } from '../../support/repos.js';
import { startLlmServer } from '../../support/llm-server.js';
import { demoTurns, MODEL, onlyJson, lastLine, useScenario } from './scenario.js';

const s = useScenario('demo-cart');
const daemons: number[] = [];

afterEach(async () => {
  await runCli(['daemon', 'stop'], s.h.env('openai'));
  for (const pid of daemons.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

const daemonDir = () => path.join(s.h.home, 'daemon');
const daemonLog = () => readFileSync(path.join(daemonDir(), 'daemon.log'), 'utf8');
/** Commands the daemon served, from its log. */
const served = () => daemonLog().split('\n').filter((l) => l.includes(' served "'));

async function startDaemon(extra: Record<string, string> = {}): Promise<number> {
  const started = await runCli(['daemon', 'start'], s.h.env('openai', extra));
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  expect(started.stdout).toMatch(/Slipway daemon started \(pid \d+\)/);
  const status = JSON.parse((await runCli(['daemon', 'status', '--json'], s.h.env('openai'))).stdout) as { running: boolean; pid: number };
  expect(status.running).toBe(true);
  daemons.push(status.pid);
  return status.pid;
}

function runArgs(...extra: string[]): string[] {
  return ['run', 'Fix the discount', '--repo', s.repo, '--json', '--model', MODEL.openai, ...extra];
}

function processesMatching(marker: string): string {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/**
 * Whether the sleeper runs inside its sandbox: the marker is on the command line of the shell that runs the
 * command, which starts once bwrap's set-up is done (a kill before that races bwrap's die-with-parent).
 */
function sleeping(marker: string): boolean {
  return processesMatching(marker)
    .split('\n')
    .some((line) => line.includes(`/bin/sh -c sleep 300; echo ${marker}`));
}

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A client in a process of its own, to signal or kill while its command runs in the daemon. */
function startClient(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'slipway.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, stdout: () => stdout, stderr: () => stderr, exited: new Promise((resolve) => child.on('close', resolve)) };
}

/** The turns of a run that reaches a sandboxed command that sleeps, marked so the test can find it. */
function sleeperTurns(marker: string) {
  const [readCart, plan] = demoTurns();
  return [readCart!, plan!, { toolCalls: [{ name: 'shell', input: { command: `sleep 300; echo ${marker}` } }] }];
}

/** A run in the daemon, resting in a sandboxed sleep: its client, marker and id. */
async function sleepingRun(name: string): Promise<{ client: ReturnType<typeof startClient>; marker: string; run: string }> {
  const marker = `slipway-daemon-${name}-${process.pid}-${Date.now()}`;
  s.h.server.turns(sleeperTurns(marker));
  const client = startClient(runArgs(), s.h.env('openai'));
  await until(() => sleeping(marker));
  return { client, marker, run: String((JSON.parse(client.stdout().split('\n')[0]!) as { run: string }).run) };
}

async function runStatus(run: string): Promise<string | undefined> {
  const runs = JSON.parse((await runCli(['log', '--list', '--json'], s.h.env('openai'))).stdout) as Array<{ id: string; status: string }>;
  return runs.find((r) => r.id === run)?.status;
}

it('runs a whole goal in the daemon: same output, exit code and pull request as a fresh process', async () => {
  await startDaemon();
  s.h.server.turns(demoTurns());
  const result = await runCli(runArgs(), s.h.env('openai'));
  expect(result.code, result.stderr).toBe(0);
  expect(onlyJson(result)).toBe(true);
  expect(lastLine(result)).toMatchObject({ status: 'pr_open' });
  expect(result.json.some((l) => l.type === 'phase')).toBe(true); // the live events came through too
  expect(served()).toEqual([expect.stringContaining('served "run Fix the discount": exit 0')]);

  const pr = await runCli(['pr', 'show', String(lastLine(result).pr), '--json'], s.h.env('openai'));
  expect(pr.code).toBe(0);
  expect(JSON.parse(pr.stdout)).toMatchObject({ status: 'open', tests: { after: { failed: 0 } } });
  // Usage errors keep their exit code and message.
  const usage = await runCli(['run', ''], s.h.env('openai'));
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/goal is empty/);
  expect(served()).toHaveLength(3);
});

it("runs each command with the client's environment and working folder, not the daemon's", async () => {
  // The daemon is started with a key the command must not see.
  await startDaemon({ OPENAI_API_KEY: 'sk-daemon-own' });
  const noKey = { ...s.h.env('openai'), OPENAI_API_KEY: undefined };
  const missing = await runCli(runArgs(), noKey);
  expect(missing.code).toBe(1);
  expect(String(lastLine(missing).error)).toMatch(/OPENAI_API_KEY/);
  expect(s.h.server.requests).toHaveLength(0);

  // A second fake, reached only through the client's OPENAI_BASE_URL; `--repo .` is the client's folder.
  const other = await startLlmServer();
  try {
    other.turns(demoTurns());
    const result = await new Promise<CliResult>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'slipway.js'), 'run', 'Fix the discount', '--repo', '.', '--json', '--model', MODEL.openai], {
        cwd: s.repo,
        env: { ...s.h.env('openai'), OPENAI_BASE_URL: other.openaiBaseUrl, OPENAI_API_KEY: 'sk-client' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr, json: stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) }));
    });
    expect(result.code, result.stderr).toBe(0);
    expect(lastLine(result).status).toBe('pr_open');
    expect(other.requests.length).toBeGreaterThan(0);
    expect(other.requests[0]!.headers.authorization).toBe('Bearer sk-client');
    expect(s.h.server.requests).toHaveLength(0);
  } finally {
    await other.close();
  }
  expect(served()).toHaveLength(2);
  // The daemon's own environment is back in place after each command.
  expect(daemonLog()).not.toMatch(/error/i);
});

it('Ctrl-C reaches the command in the daemon: the sandbox is killed, the run stopped, the daemon lives on', async () => {
  await startDaemon();
  const { client, marker } = await sleepingRun('sleeper');
  client.child.kill('SIGINT');
  expect(await client.exited).toBe(130);
  await until(() => processesMatching(marker) === '', 5000);
  const last = JSON.parse(client.stdout().trim().split('\n').at(-1)!) as { run: string; status: string };
  expect(last.status).toBe('failed');
  expect(await runStatus(last.run)).toBe('stopped');
  const status = JSON.parse((await runCli(['daemon', 'status', '--json'], s.h.env('openai'))).stdout) as { running: boolean; busy: boolean };
  expect(status).toMatchObject({ running: true, busy: false });
});

it('a client killed outright stops its command in the daemon, which serves the next one', async () => {
  await startDaemon();
  const { client, marker, run } = await sleepingRun('orphan');
  client.child.kill('SIGKILL');
  await client.exited;
  await until(() => processesMatching(marker) === '', 10_000);
  await until(() => served().length === 1, 10_000);
  expect(served()[0]).toMatch(/served "run Fix the discount": exit 130/);
  expect(daemonLog()).toMatch(/client of "run Fix the discount" went away: stopping the command/);
  expect(await runStatus(run)).toBe('stopped');
  const list = await runCli(['pr', 'list'], s.h.env('openai'));
  expect(list.code).toBe(0);
  expect(served().at(-1)).toMatch(/served "pr list": exit 0/);
});

it('a busy daemon leaves the next command to the client, which runs it itself', async () => {
  await startDaemon();
  const { client, run } = await sleepingRun('busy');
  const log = await runCli(['log', run, '--json'], s.h.env('openai'));
  expect(log.code).toBe(0);
  expect(log.stdout).toMatch(/"type":"plan"/);
  expect(served()).toHaveLength(0); // the daemon is still on the run
  client.child.kill('SIGINT');
  expect(await client.exited).toBe(130);
});

it('a daemon that dies: a command it had taken fails once (never runs twice), later ones run without it', async () => {
  const pid = await startDaemon();
  const { client, marker } = await sleepingRun('dies');
  process.kill(pid, 'SIGKILL');
  expect(await client.exited).toBe(1);
  expect(client.stderr()).toMatch(/the Slipway daemon stopped before the command finished/);
  expect(client.stderr()).toMatch(/Run the command again/);
  await until(() => processesMatching(marker) === '', 10_000);
  expect(s.h.server.requests).toHaveLength(3); // the run was not started again by the client

  // Its socket is left behind: the next command runs in its own process, and a new daemon takes the socket.
  expect(readdirSync(daemonDir()).some((n) => n.endsWith('.sock'))).toBe(true);
  const list = await runCli(['pr', 'list'], s.h.env('openai'));
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/No pull requests yet/);
  await startDaemon();
  expect((await runCli(['pr', 'list'], s.h.env('openai'))).code).toBe(0);
  expect(served().at(-1)).toMatch(/served "pr list": exit 0/);
});

it('the sandbox launcher a daemon keeps waiting goes with it when it is killed outright', async () => {
  const pid = await startDaemon();
  s.h.server.turns(demoTurns());
  expect((await runCli(runArgs(), s.h.env('openai'))).code).toBe(0);
  // The next command's launcher waits: bwrap, a child of the daemon, blocked reading its options.
  const parentOf = (child: number): number => Number(/^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${child}/stat`, 'utf8'))?.[1]);
  const waiting = (): number[] =>
    processesMatching('bwrap --args 3')
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line.split(' ')[0]))
      .filter((child) => existsSync(`/proc/${child}`) && parentOf(child) === pid);
  await until(() => waiting().length > 0, 10_000);
  const launchers = waiting();
  process.kill(pid, 'SIGKILL');
  // With its options' pipe closed before the end mark, bwrap ends without running anything (sandbox-launcher.test.ts
  // shows that a cut-off option list runs nothing).
  await until(() => launchers.every((child) => !existsSync(`/proc/${child}`)), 10_000);
});

it('a daemon folder others may enter is never used, and the daemon refuses to start there', async () => {
  await startDaemon();
  chmodSync(daemonDir(), 0o755);
  const list = await runCli(['pr', 'list'], s.h.env('openai'));
  expect(list.code).toBe(0);
  expect(served()).toHaveLength(0); // the client kept its environment (and keys) to itself
  await runCli(['daemon', 'stop'], s.h.env('openai'));
  const refused = await runCli(['daemon', 'start'], s.h.env('openai'));
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/no one else may enter: fix it with chmod 700/);
});

it('a home folder too deep for a unix socket: the daemon says so and commands run as ever', async () => {
  const deep = path.join(s.h.home, 'x'.repeat(60));
  const env = s.h.env('openai', { SLIPWAY_HOME: deep });
  const refused = await runCli(['daemon', 'start'], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/longer than a unix socket allows \(107 bytes\): set SLIPWAY_HOME to a shorter folder/);
  expect((await runCli(['daemon', 'status'], env)).stdout).toMatch(/^not running: the socket path .* is longer than a unix socket allows/);
  expect((await runCli(['pr', 'list'], env)).code).toBe(0);
});

it('starts a log past 1 MB afresh, keeping the last one beside it', async () => {
  mkdirSync(daemonDir(), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(daemonDir(), 'daemon.log'), 'x'.repeat(1024 * 1024 + 1));
  await startDaemon();
  expect(statSync(path.join(daemonDir(), 'daemon.log.1')).size).toBe(1024 * 1024 + 1);
  expect(daemonLog()).toMatch(/^\S+ listening on /);
  await runCli(['daemon', 'stop'], s.h.env('openai'));
  await startDaemon(); // a small log is kept and added to
  expect(daemonLog().match(/listening on/g)).toHaveLength(2);
});

it('SLIPWAY_DAEMON=off bypasses it; stop removes its socket and says when none runs', async () => {
  await startDaemon();
  expect((await runCli(['pr', 'list'], s.h.env('openai', { SLIPWAY_DAEMON: 'off' }))).code).toBe(0);
  expect(served()).toHaveLength(0);
  const stopped = await runCli(['daemon', 'stop'], s.h.env('openai'));
  expect(stopped.stdout).toMatch(/Stopped the Slipway daemon \(pid \d+\)\./);
  expect(readdirSync(daemonDir()).filter((n) => n.endsWith('.sock'))).toEqual([]);
  expect((await runCli(['daemon', 'status'], s.h.env('openai'))).stdout).toMatch(/^not running; start it with: slipway daemon start/);
  expect((await runCli(['daemon', 'stop'], s.h.env('openai'))).stdout).toMatch(/No Slipway daemon is running/);
  expect(existsSync(path.join(daemonDir(), 'daemon.log'))).toBe(true);
});

it('starting the daemon stops those of other builds (which no client of this build uses) and removes their dead sockets', async () => {
  mkdirSync(daemonDir(), { recursive: true, mode: 0o700 });
  // A daemon of an earlier build, as it answers on the wire; and the socket of one that died.
  const asked: string[] = [];
  const other = createServer((conn) => {
    conn.on('data', (d: Buffer) => {
      const message = JSON.parse(d.toString().trim().split('\n')[0]!) as { type: string };
      asked.push(message.type);
      conn.end(`${JSON.stringify(message.type === 'stop' ? { type: 'stopping', pid: 4242, busy: true } : { type: 'pong', pid: 4242 })}\n`);
      if (message.type === 'stop') other.close();
    });
  });
  const otherSocket = path.join(daemonDir(), '0123456789abcdef-v18.0.0-x64.sock');
  await new Promise<void>((resolve) => other.listen(otherSocket, resolve));
  const deadSocket = path.join(daemonDir(), 'fedcba9876543210-v20.0.0-x64.sock');
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(deadSocket, resolve));
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  writeFileSync(deadSocket, ''); // its file stays, nothing listens

  const started = await runCli(['daemon', 'start'], s.h.env('openai'));
  expect(started.code, started.stderr).toBe(0);
  expect(started.stdout).toMatch(/Slipway daemon started \(pid (\d+)\)/);
  daemons.push(Number(/pid (\d+)/.exec(started.stdout)![1]));
  expect(started.stdout).toContain('Stopped the daemon of another build (pid 4242) once its command ends');
  expect(asked).toEqual(['stop']);
  expect(existsSync(deadSocket)).toBe(false);
  // Ours keeps running.
  expect((JSON.parse((await runCli(['daemon', 'status', '--json'], s.h.env('openai'))).stdout) as { running: boolean }).running).toBe(true);
});

