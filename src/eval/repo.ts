/**
 * Host-side git for the harness: a fresh local repository per instance at its base commit, the agent's change
 * as a patch, and the tree the tests run on (the change, then the test files reset and the test patch applied).
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { git, GitError } from '../workspace/index.js';

/** The branch the agent starts from: the base commit, named, because a run needs a base branch. */
export const EVAL_BASE_BRANCH = 'eval-base';

/** An instance that cannot be evaluated; the message is its reason in the report. */
export class InstanceError extends Error {
  override readonly name = 'InstanceError';
}

const DIFF_FLAGS = ['--no-ext-diff', '--no-textconv', '--no-color', '--binary', '--ignore-submodules=all'];

function gitMessage(error: unknown): string {
  if (error instanceof GitError) return error.stderr.trim().split('\n').slice(-3).join(' ') || error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Where to clone from: a URL as is; a path (relative to the instances file's folder); SWE-bench's
 * `owner/name` form, when no such local folder exists, as the GitHub repository.
 */
export function resolveRepo(repo: string, baseDir: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[\w.-]+@[\w.-]+:/.test(repo)) return repo;
  const local = path.resolve(baseDir, repo);
  if (!existsSync(local) && /^[\w-][\w.-]*\/[\w.-]+$/.test(repo)) return `https://github.com/${repo}.git`;
  return local;
}

/** Clones `repo` into `dir` and checks out `eval-base` at the base commit. */
export async function checkoutSource(repo: string, baseCommit: string, dir: string, signal: AbortSignal): Promise<string> {
  const parent = path.dirname(dir);
  try {
    // --no-hardlinks: nothing done in this copy can reach the original's objects.
    await git(['clone', '--quiet', '--no-hardlinks', '--no-checkout', '--', repo, dir], { cwd: parent, signal });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new InstanceError(`could not clone ${repo}: ${gitMessage(error)}`);
  }
  const found = await git(['rev-parse', '--verify', '--quiet', `${baseCommit}^{commit}`], { cwd: dir, signal, allowFailure: true });
  if (found.exitCode !== 0) throw new InstanceError(`base_commit ${baseCommit} is not a commit in ${repo}`);
  const full = found.stdout.trim();
  await git(['checkout', '--quiet', '-B', EVAL_BASE_BRANCH, full], { cwd: dir, signal });
  return full;
}

/** The diff of `branch` against the base commit, in a form `git apply` takes back (binary files included). */
export async function branchPatch(source: string, baseCommit: string, branch: string): Promise<string> {
  const result = await git(['diff', ...DIFF_FLAGS, baseCommit, `refs/heads/${branch}`, '--'], { cwd: source });
  return result.stdout;
}

/** Paths a unified diff touches, old and new names alike (as SWE-bench's harness reads them). */
export function patchedPaths(patch: string): string[] {
  const paths = new Set<string>();
  const strip = (p: string) => p.replace(/\t.*$/, '').trim();
  for (const line of patch.split('\n')) {
    const header = /^diff --git a\/(.+?) b\/(.+)$/.exec(line);
    if (header) {
      paths.add(header[1]!);
      paths.add(header[2]!);
      continue;
    }
    const file = /^(?:---|\+\+\+) (?:a|b)\/(.+)$/.exec(line);
    if (file) paths.add(strip(file[1]!));
  }
  return [...paths].filter((p) => p && p !== '/dev/null');
}

/**
 * The tree the tests run on: the base commit, plus the model's patch, with every file the test patch touches
 * put back as it was on the base commit (removed when it did not exist there), plus the test patch.
 */
export async function prepareEvalTree(
  source: string,
  dir: string,
  baseCommit: string,
  patches: { model: string; test: string },
  signal: AbortSignal,
): Promise<void> {
  await git(['clone', '--quiet', '--no-hardlinks', '--no-checkout', '--', source, dir], { cwd: path.dirname(dir), signal });
  await git(['checkout', '--quiet', '--detach', baseCommit], { cwd: dir, signal });
  const apply = async (patch: string, what: string) => {
    const file = path.join(path.dirname(dir), `${what.replace(/\W+/g, '-')}.patch`);
    await writeFile(file, patch);
    try {
      const result = await git(['apply', '--whitespace=nowarn', file], { cwd: dir, signal, allowFailure: true });
      if (result.exitCode !== 0) throw new InstanceError(`the ${what} does not apply: ${result.stderr.trim().split('\n').slice(0, 3).join(' ')}`);
    } finally {
      await rm(file, { force: true });
    }
  };
  if (patches.model.trim()) await apply(patches.model, 'model patch');
  for (const rel of patchedPaths(patches.test)) {
    if (rel.split('/').includes('..') || path.isAbsolute(rel)) throw new InstanceError(`test_patch touches a path outside the repository: ${rel}`);
    const atBase = await git(['cat-file', '-e', `${baseCommit}:${rel}`], { cwd: dir, signal, allowFailure: true });
    if (atBase.exitCode === 0) await git(['checkout', '--quiet', baseCommit, '--', rel], { cwd: dir, signal });
    else await rm(path.join(dir, rel), { recursive: true, force: true });
  }
  await apply(patches.test, 'test_patch');
}
