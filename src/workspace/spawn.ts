/** Running one process to completion (output kept as head + tail, killed as a group on timeout or abort), or starting it ahead and collecting it later. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { CommandResult } from '../protocol/workspace.js';
import { DEFAULT_MAX_OUTPUT_BYTES, OutputCollector } from './output.js';

export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface SpawnLimits {
  timeoutMs: number;
  signal?: AbortSignal;
  maxOutputBytes?: number;
}

/** Process groups still running, killed if this process exits first. */
const live = new Set<number>();
let exitHookInstalled = false;

/** The child leads its own group (detached), so its pid is the group id. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killGroup(pid);
  });
}

/** How long to wait for the pipes to close after the process exits (a detached grandchild may hold them). */
const DRAIN_MS = 500;

/** A process started with launch(): its own group, output piped, optionally a pipe on fd 3 to write to. */
export type Launched = ChildProcessByStdio<null, Readable, Readable> & { readonly input: Writable | null };

/**
 * Starts a process in its own group (detached, so a timeout kills everything it started), with its output piped and
 * nothing read yet; `input: true` gives it a pipe on fd 3. The group is killed if this process exits first.
 */
export function launch(spec: SpawnSpec, options: { input?: boolean } = {}): Launched {
  const child = spawn(spec.file, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.input ? (['pipe'] as const) : [])],
    detached: true,
  }) as unknown as ChildProcessByStdio<null, Readable, Readable>;
  const pid = child.pid;
  if (pid !== undefined) {
    live.add(pid);
    installExitHook();
    child.once('exit', () => live.delete(pid));
  }
  const input = options.input ? (child.stdio[3] as Writable) : null;
  input?.on('error', () => undefined); // a process that is gone before reading it: its exit says so
  return Object.assign(child, { input });
}

export function spawnCollect(spec: SpawnSpec, limits: SpawnLimits): Promise<CommandResult> {
  if (limits.signal?.aborted) return Promise.resolve(abortedResult());
  return collect(launch(spec), limits);
}

/** The result of a command that was stopped before it started. */
export function abortedResult(): CommandResult {
  return { exitCode: null, signal: null, timedOut: false, aborted: true, durationMs: 0, output: '', truncated: false };
}

/**
 * Collects a launched process to its end: combined output kept as head + tail, the group killed on timeout or
 * abort and once the process exits. The time limit counts from this call (a process launched ahead waits for it).
 */
export function collect(child: Launched, limits: SpawnLimits): Promise<CommandResult> {
  const started = performance.now();
  const collector = new OutputCollector(limits.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  const finish = (fields: Partial<CommandResult>): CommandResult => {
    const { output, truncated } = collector.result();
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: false,
      durationMs: Math.round(performance.now() - started),
      output,
      truncated,
      ...fields,
    };
  };

  return new Promise<CommandResult>((resolve, reject) => {
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const pid = child.pid;
    const kill = (): void => {
      if (pid !== undefined) killGroup(pid);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, Math.min(Math.max(1, limits.timeoutMs), 2 ** 31 - 1));
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    if (limits.signal?.aborted) onAbort();
    else limits.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => collector.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => collector.push(chunk));

    const cleanup = (): void => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    });
    let drain: NodeJS.Timeout | undefined;
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(drain);
      cleanup();
      resolve(finish({ exitCode: code, signal, timedOut, aborted }));
    };
    const exited = (code: number | null, signal: NodeJS.Signals | null): void => {
      // Whatever the process left behind in its group goes with it.
      kill();
      drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done(code, signal);
      }, DRAIN_MS);
    };
    child.once('close', done);
    // A process launched ahead may have ended already: it is then over once the drain wait has passed.
    if (child.exitCode !== null || child.signalCode !== null) exited(child.exitCode, child.signalCode);
    else child.once('exit', exited);
  });
}
