/**
 * A run that shipped gave its clone back; revising its pull request (or resuming a run whose clone was
 * removed) clones the user's repository again and picks up the run's branch from there.
 */
import { appendFile, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EXCLUDES, reopenWorkspace } from './clone.js';
import { WorkspaceError } from './errors.js';
import { git, gitLine, GitError } from './git.js';
import { GitWorkspace } from './git-workspace.js';
import { populateSubmodules } from './submodules.js';

export interface RecloneOptions {
  /** The user's repository (its root). */
  repo: string;
  /** The base branch; needed only when the clone must be made again. */
  base?: string;
  /** The run's branch, as published into the user's repository. */
  branch: string;
  runId: string;
  workspacesDir: string;
  author: { name: string; email: string };
  path?: string;
}

/** The clone the run kept, or a fresh clone of its published branch when that clone is gone. */
export async function reopenOrReclone(opts: RecloneOptions): Promise<{ workspace: GitWorkspace; notice: string }> {
  const dir = join(opts.workspacesDir, opts.runId, 'repo');
  const kept = await stat(join(dir, '.git')).then(
    () => true,
    () => false,
  );
  if (kept) {
    const workspace = await reopenWorkspace({ repo: opts.repo, ...(opts.base ? { base: opts.base } : {}), branch: opts.branch, runId: opts.runId, workspacesDir: opts.workspacesDir, ...(opts.path ? { path: opts.path } : {}) });
    return { workspace, notice: `resuming in the clone the run kept, on ${opts.branch}` };
  }
  return { workspace: await reclone(opts), notice: `cloned ${opts.branch} again from ${opts.repo}` };
}

async function reclone(opts: RecloneOptions): Promise<GitWorkspace> {
  const { path, branch, base } = opts;
  if (!branch.startsWith('slipway/')) throw new WorkspaceError('invalid_name', `refusing to reopen ${branch}`, 'only slipway/ branches belong to runs');
  if (!base) throw new WorkspaceError('no_such_path', `the clone of run ${opts.runId} is gone and its base branch is not known`, 'start a new run with slipway run');
  const runDir = join(opts.workspacesDir, opts.runId);
  const dir = join(runDir, 'repo');
  const found = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], { cwd: opts.repo, path, allowFailure: true });
  if (found.exitCode !== 0) {
    throw new WorkspaceError('unknown_base', `branch ${branch} is not in ${opts.repo} any more`, 'start a new run with slipway run');
  }
  await mkdir(runDir, { recursive: true });
  try {
    await git(
      ['clone', '--quiet', '--no-hardlinks', '--single-branch', '--branch', branch,
        '--config', `user.name=${opts.author.name}`, '--config', `user.email=${opts.author.email}`, '--', opts.repo, dir],
      { cwd: runDir, path },
    );
    await appendFile(join(dir, '.git', 'info', 'exclude'), `\n# slipway\n${EXCLUDES.join('\n')}\n`);
    // The base as the user's repository has it now; the branch's fork point stays the base commit.
    await git(['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${base}:refs/heads/${base}`], { cwd: dir, path });
    const baseCommit = await gitLine(['merge-base', 'HEAD', `refs/heads/${base}`], { cwd: dir, path });
    if (await stat(join(dir, '.gitmodules')).then(() => true, () => false)) await populateSubmodules(dir, opts.repo, path);
    return new GitWorkspace({ dir, runDir, userRepo: opts.repo, branch, base, baseCommit, ...(path ? { path } : {}) });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (error instanceof GitError) {
      throw new WorkspaceError('git_failed', `could not clone ${branch} from ${opts.repo}: ${error.stderr.trim()}`, 'check that git can read the repository', { cause: error });
    }
    throw error;
  }
}
