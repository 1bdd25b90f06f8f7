/** Run one process to completion: combined output kept as head + tail, killed as a group on timeout or abort. */
import { spawn } from 'node:child_process';
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

export function spawnCollect(spec: SpawnSpec, limits: SpawnLimits): Promise<CommandResult> {
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
  if (limits.signal?.aborted) return Promise.resolve(finish({ aborted: true }));

  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout kills everything it started, not only the shell.
      detached: true,
    });
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const pid = child.pid;
    if (pid !== undefined) {
      live.add(pid);
      installExitHook();
    }
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
    limits.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => collector.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => collector.push(chunk));

    const cleanup = (): void => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) live.delete(pid);
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
    child.once('close', done);
    child.once('exit', (code, signal) => {
      // Whatever the process left behind in its group goes with it.
      kill();
      drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done(code, signal);
      }, DRAIN_MS);
    });
  });
}
