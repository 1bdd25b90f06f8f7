/** Host-side git, run so that nothing in a repository's config or hooks can execute code of its own. */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

export interface GitOptions {
  cwd: string;
  signal?: AbortSignal;
  /** Extra variables (GIT_INDEX_FILE for a temporary index, ...). */
  env?: Record<string, string>;
  /** Where to look for the git binary; defaults to this process's PATH. */
  path?: string;
  /** Return a failed result instead of throwing. */
  allowFailure?: boolean;
  input?: string;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export class GitError extends Error {
  override readonly name = 'GitError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || '(no output)'}`);
  }
}

/**
 * Overrides given on the command line beat every config file, and reach child gits (submodule
 * checks) through GIT_CONFIG_PARAMETERS. They close the ways a repository's config runs programs.
 */
export const SAFE_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.pager=cat',
  'core.editor=false',
  'core.sshCommand=false',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'diff.ignoreSubmodules=all',
  'submodule.recurse=false',
  'credential.helper=',
  'protocol.ext.allow=never',
  'gc.auto=0',
  'maintenance.auto=false',
];

/**
 * Speed, not safety: files are checked out by one worker per CPU (git 2.32 and later; an older git ignores it).
 * Writing a large tree is bound by file creation: 20,000 files took 9 s with one worker and 1.7 s with two
 * on the development VM (see "Performance" in README.md).
 */
const FAST_CONFIG: readonly string[] = ['checkout.workers=0'];

const SAFE_ARGS = [...SAFE_CONFIG, ...FAST_CONFIG].flatMap((kv) => ['-c', kv]);

/**
 * A clean environment: nothing inherited (no GIT_DIR, GIT_WORK_TREE ...), no system or global config
 * (a user's init.templateDir, commit.gpgSign or core.fsmonitor must not reach our clones), no prompts.
 */
export function gitEnv(path: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: path ?? process.env.PATH ?? '/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ASKPASS: 'false',
    SSH_ASKPASS: 'false',
    LC_ALL: 'C',
    ...extra,
  };
}

/** The most output one git command may give (a diff of a large change): past it, git is stopped and the call fails. */
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
/** After an abort, how long git has to exit on SIGTERM before it is killed. */
const KILL_AFTER_MS = 2000;

/** Git processes running now, with how to stop each: stopped if this process exits first (git then removes its lock files). */
const running = new Map<ChildProcess, (why: string) => void>();
let exitHookInstalled = false;

/** Stops every git process still running (SIGTERM: git removes its lock files and exits). Called when this process exits. */
export function stopRunningGit(): void {
  for (const stop of running.values()) stop('Slipway is exiting');
}

/**
 * Runs git and collects its output. Node's own spawn, not execa: a run starts a dozen git processes, most of them
 * on its critical path, and execa's option handling and stream plumbing cost about 2 ms of this thread per
 * process on the development VM (README.md, "Performance"). This needs none of what it adds.
 */
export function git(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<GitResult>((resolve, reject) => {
    const child = spawn('git', [...SAFE_ARGS, ...args], {
      cwd: opts.cwd,
      env: gitEnv(opts.path, opts.env),
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', stopRunningGit);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let failure: string | null = null;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: string): void => {
      failure ??= why;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    };
    running.set(child, stop);
    const onAbort = (): void => stop('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) return stop(`its output passed ${MAX_OUTPUT_BYTES / 2 ** 20} MiB`);
      into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    const settle = (exitCode: number, stderrExtra = ''): void => {
      if (settled) return;
      settled = true;
      running.delete(child);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(abortReason(signal));
      const result: GitResult = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') + stderrExtra, exitCode };
      if (failure) return reject(new GitError(args, exitCode, `${result.stderr}\ngit was stopped: ${failure}`));
      if (exitCode !== 0 && !opts.allowFailure) return reject(new GitError(args, exitCode, result.stderr));
      resolve(result);
    };
    // A git that cannot start (no git on PATH, a missing folder) fails as a git that exits at once would.
    child.once('error', (error) => settle(-1, error.message));
    child.once('close', (code, sig) => settle(code ?? (sig ? 128 + (osConstants.signals[sig] ?? 0) : -1)));
    // Killed, git may leave a child (a hook, an alias) holding the pipes: the exit is enough then.
    child.once('exit', () => {
      if (failure) {
        child.stdout.destroy();
        child.stderr.destroy();
      }
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // git exiting before reading all of it is its exit code's business
      child.stdin.end(opts.input);
    }
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** `git ... ` stdout with the trailing newline removed. */
export async function gitLine(args: readonly string[], opts: GitOptions): Promise<string> {
  return (await git(args, opts)).stdout.trim();
}
