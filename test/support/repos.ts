/** Real git repositories in temp folders, made from the examples/ projects or from inline files. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function tempDir(prefix = 'slipway-test-'): string {
  return realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A fresh repository holding a copy of examples/<name> (minus scripts) committed on `main`. */
export function exampleRepo(name: string, files: Record<string, string> = {}): string {
  const dir = tempDir(`slipway-${name}-`);
  cpSync(path.join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !src.endsWith('slipway-script.json') });
  return commitFiles(dir, files);
}

/** A fresh repository (in a temp folder named after `prefix`) with `files` committed on `main`. */
export function committedRepo(prefix: string, files: Record<string, string>): string {
  return commitFiles(tempDir(prefix), files);
}

function commitFiles(dir: string, files: Record<string, string>): string {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=Test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'initial');
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Branches, HEAD and status of a repository: compare before and after to prove nothing was touched. */
export function repoState(dir: string): { branches: string; head: string; status: string; mainSha: string } {
  return {
    branches: git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'),
    head: git(dir, 'symbolic-ref', 'HEAD'),
    status: git(dir, 'status', '--porcelain'),
    mainSha: git(dir, 'rev-parse', 'main'),
  };
}
