/** Fixtures for the workspace tests: real repositories and projects in temp folders. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function tempDir(prefix = 'slipway-ws-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function sh(cwd: string, file: string, ...args: string[]): string {
  return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function gitCmd(cwd: string, ...args: string[]): string {
  return sh(cwd, 'git', '-c', 'user.name=Test', '-c', 'user.email=test@localhost', ...args);
}

/** Whether a tool runs on this machine (`onHost('go', 'version')`): for tests of toolchains a user may lack. */
export function onHost(tool: string, ...args: string[]): boolean {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
}

/** A repository with `files` committed on `main`. */
export function makeRepo(files: Record<string, string> = { 'README.md': '# demo\n' }, branch = 'main'): string {
  const dir = tempDir('slipway-repo-');
  writeFiles(dir, files);
  gitCmd(dir, 'init', '-q', '-b', branch);
  gitCmd(dir, 'add', '-A');
  gitCmd(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

/** Branches, HEAD, index and status: compare before and after to prove nothing was touched. */
export function repoState(dir: string): Record<string, string> {
  return {
    branches: gitCmd(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'),
    head: gitCmd(dir, 'symbolic-ref', 'HEAD'),
    status: gitCmd(dir, 'status', '--porcelain'),
    index: gitCmd(dir, 'ls-files', '-s'),
  };
}
