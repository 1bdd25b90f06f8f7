import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkspaceError } from './errors.js';
import { acquireLock, withRepoLock } from './lock-file.js';
import { gitCmd, makeRepo, removeDir, tempDir } from './test-helpers.js';

const cleanup: string[] = [];
afterEach(() => {
  for (const dir of cleanup.splice(0)) removeDir(dir);
});

const who = { GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@localhost', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@localhost' };

/** A repository with `n` commits on main, for notes to go on. */
function repoWithCommits(n: number): { repo: string; commits: string[] } {
  const repo = makeRepo({ 'a.txt': '0\n' });
  cleanup.push(repo);
  const commits: string[] = [];
  for (let i = 1; i <= n; i++) {
    writeFileSync(join(repo, 'a.txt'), `${i}\n`);
    gitCmd(repo, '-c', 'user.name=T', '-c', 'user.email=t@localhost', 'commit', '-qam', `c${i}`);
    commits.push(gitCmd(repo, 'rev-parse', 'HEAD'));
  }
  return { repo, commits };
}

describe('withRepoLock', () => {
  it('keeps every note when many processes append notes to one repository at once', async () => {
    const { repo, commits } = repoWithCommits(12);
    // Each append starts only once a barrier file exists, so without the lock all twelve would run at the
    // same moment, and git would keep only some of the notes (it moves the notes ref without checking it).
    const barrier = join(repo, '.git', 'go');
    const appending = Promise.all(
      commits.map((commit, i) =>
        withRepoLock(repo, 'notes', () =>
          promisify(execFile)('sh', ['-c', 'while [ ! -e "$0" ]; do sleep 0.01; done; exec git notes --ref=refs/notes/test append -m "$1" "$2"', barrier, `note ${i}`, commit], {
            cwd: repo,
            env: { ...process.env, ...who },
          }),
        ),
      ),
    );
    await new Promise((done) => setTimeout(done, 300));
    writeFileSync(barrier, '');
    await appending;
    const listed = gitCmd(repo, 'notes', '--ref=refs/notes/test', 'list').split('\n');
    expect(listed).toHaveLength(12);
    for (const [i, commit] of commits.entries()) expect(gitCmd(repo, 'notes', '--ref=refs/notes/test', 'show', commit)).toBe(`note ${i}`);
    // The lock is in the git folder and gone afterwards.
    expect(existsSync(join(repo, '.git', 'slipway-notes.lock'))).toBe(false);
  });

  it('waits for a live holder, takes over a lock whose process is gone, and names the file when it gives up', async () => {
    const { repo } = repoWithCommits(1);
    const lock = join(repo, '.git', 'slipway-notes.lock');
    // A live holder (this very test process, as another would be): the call waits, then gives up with a clear error.
    writeFileSync(lock, String(process.pid));
    const error = await withRepoLock(repo, 'notes', async () => 'ran', 150).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect((error as WorkspaceError).code).toBe('locked');
    expect((error as WorkspaceError).message).toContain(lock);
    expect((error as WorkspaceError).hint).toMatch(/remove the file/);
    // A holder that is gone (a process that has exited): its lock is taken over at once.
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((done) => child.on('close', done));
    writeFileSync(lock, String(child.pid));
    expect(await withRepoLock(repo, 'notes', async () => 'ran', 150)).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it('releases the lock when the work fails', async () => {
    const { repo } = repoWithCommits(1);
    await expect(withRepoLock(repo, 'notes', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(join(repo, '.git', 'slipway-notes.lock'))).toBe(false);
  });
});

describe('acquireLock', () => {
  it('gives the lock to one caller at a time, in turn', async () => {
    const dir = tempDir();
    cleanup.push(dir);
    const path = join(dir, 'x.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const release = await acquireLock(path, 10_000);
        expect(release).not.toBeNull();
        most = Math.max(most, ++inside);
        await new Promise((done) => setTimeout(done, 5));
        inside--;
        await release!();
      }),
    );
    expect(most).toBe(1);
  });
});
