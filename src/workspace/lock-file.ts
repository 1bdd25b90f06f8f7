/**
 * Lock files between Slipway processes on one machine: a file created exclusively, holding its owner's pid.
 * One left by a process that is gone (or empty for a minute: its owner died before writing) is taken over.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WorkspaceError } from './errors.js';
import { gitLine } from './git.js';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((done) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), done()), { once: true });
  });

/** Takes the lock at `path`, waiting up to `waitMs`; returns its release, or null when it stayed taken (or `signal` aborted). */
export async function acquireLock(path: string, waitMs: number, signal?: AbortSignal): Promise<(() => Promise<void>) | null> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    // Taking and giving back a free lock are a few small file calls, made synchronously: each would otherwise wait
    // its turn for the thread pool, on the way to the one git command the lock is held for.
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, String(process.pid));
      } catch (error) {
        rmSync(path, { force: true }); // a full disk, say: no empty lock left for others to wait a minute on
        throw error;
      } finally {
        closeSync(fd);
      }
      return async () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    const age = Date.now() - ((await stat(path).catch(() => null))?.mtimeMs ?? Date.now());
    if ((owner > 0 && !processAlive(owner)) || (!owner && age > 60_000)) {
      await rm(path, { force: true });
      continue;
    }
    if (signal?.aborted || Date.now() >= deadline) return null;
    // Short waits first (the usual holder keeps it for one git command), then up to a quarter second.
    await sleep(Math.min(10 * 2 ** Math.min(attempt, 5), 250, Math.max(0, deadline - Date.now())), signal);
  }
}

/** A repository's git folder shared by its worktrees (where withRepoLock's locks live); start it early to save the wait. */
export async function gitCommonDir(repo: string): Promise<string> {
  return resolve(repo, await gitLine(['rev-parse', '--git-common-dir'], { cwd: repo }));
}

/**
 * Runs `fn` while holding a Slipway lock in a repository's git folder (shared by its worktrees). For writes that
 * git itself does not make safe between processes: `git notes append` reads the notes, then moves the ref
 * without checking that nobody else moved it meanwhile, so two runs shipping at once could lose a note.
 */
export async function withRepoLock<T>(repo: string, name: string, fn: () => Promise<T>, waitMs = 60_000, commonDir: Promise<string> = gitCommonDir(repo)): Promise<T> {
  const gitDir = await commonDir;
  const path = resolve(gitDir, `slipway-${name}.lock`);
  const release = await acquireLock(path, waitMs);
  if (!release) {
    throw new WorkspaceError(
      'locked',
      `${path} stayed locked for ${Math.round(waitMs / 1000)} s: another Slipway process holds it`,
      'wait for the other run to finish; if no Slipway process is running, remove the file',
    );
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}
