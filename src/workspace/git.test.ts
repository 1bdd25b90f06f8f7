import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git, GitError, gitLine, stopRunningGit } from './git.js';
import { makeRepo, removeDir, tempDir } from './test-helpers.js';

const cleanup: string[] = [];
afterEach(() => {
  for (const dir of cleanup.splice(0)) removeDir(dir);
});

function repo(): string {
  const dir = makeRepo({ 'a.txt': 'one\n' });
  cleanup.push(dir);
  return dir;
}

describe('git', () => {
  it('gives stdout and stderr as text, and throws a GitError naming the command and its stderr on a failure', async () => {
    const dir = repo();
    expect(await gitLine(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir })).toBe('main');
    const error = await git(['rev-parse', '--verify', 'no-such-branch'], { cwd: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).exitCode).toBe(128);
    expect((error as GitError).message).toMatch(/^git rev-parse --verify no-such-branch failed \(exit 128\): fatal: Needed a single revision/);
    // allowFailure: the result, not an error.
    const failed = await git(['rev-parse', '--verify', 'no-such-branch'], { cwd: dir, allowFailure: true });
    expect(failed).toMatchObject({ exitCode: 128, stdout: '' });
    expect(failed.stderr).toContain('Needed a single revision');
  });

  it('passes input on stdin and returns output larger than a pipe holds, byte for byte', async () => {
    const dir = repo();
    const text = `${'é'.repeat(200_000)}\nend\n`; // 400 KB of two-byte characters: chunks split inside them
    const id = await gitLine(['hash-object', '-w', '--stdin'], { cwd: dir, input: text });
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect((await git(['cat-file', 'blob', id], { cwd: dir })).stdout).toBe(text);
  });

  it('runs with none of this process\'s git variables, nor the user\'s global config', async () => {
    const dir = repo();
    const other = repo();
    process.env.GIT_DIR = join(other, '.git');
    try {
      expect(await gitLine(['rev-parse', '--absolute-git-dir'], { cwd: dir })).toBe(join(dir, '.git'));
    } finally {
      delete process.env.GIT_DIR;
    }
    expect((await git(['config', '--global', '--list'], { cwd: dir, allowFailure: true })).stdout).toBe('');
  });

  it('fails with a GitError, not a crash, when git cannot start there', async () => {
    const missing = join(tempDir('slipway-git-'), 'gone');
    cleanup.push(join(missing, '..'));
    const error = await git(['status'], { cwd: missing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).exitCode).toBe(-1);
    expect((error as GitError).message).toContain('ENOENT');
    expect(existsSync(missing)).toBe(false);
  });

  it('stops a git that an abort interrupts, with the abort reason, even while a child it started holds its output open', async () => {
    const dir = repo();
    const controller = new AbortController();
    // An alias that runs a shell command: git waits for it, and the sleep holds git's stdout.
    const running = git(['-c', 'alias.slow=!sleep 20', 'slow'], { cwd: dir, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopped by the user')), 200);
    await expect(running).rejects.toThrow('stopped by the user');
    // Already aborted: git is not started at all.
    await expect(git(['status'], { cwd: dir, signal: controller.signal })).rejects.toThrow('stopped by the user');
  }, 10_000);

  it('stops the git processes still running when this process exits, as execa did', async () => {
    const dir = repo();
    const running = git(['-c', 'alias.slow=!sleep 20', 'slow'], { cwd: dir });
    await new Promise((r) => setTimeout(r, 200));
    stopRunningGit(); // what the exit hook runs
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).exitCode).toBe(143); // SIGTERM
    expect((error as GitError).message).toContain('git was stopped: Slipway is exiting');
    // A finished git is no longer tracked: stopping again touches nothing.
    expect(await gitLine(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir })).toBe('main');
    stopRunningGit();
  }, 10_000);
});
