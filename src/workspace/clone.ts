/** Per-run clones: a private copy of the user's repository on its own branch. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { WorkspaceError } from './errors.js';
import { git, gitLine, GitError } from './git.js';
import { GitWorkspace } from './git-workspace.js';
import { populateSubmodules } from './submodules.js';

export { WorkspaceError } from './errors.js';

export interface PrepareWorkspaceOptions {
  /** Absolute path of the user's repository (or a folder inside it). */
  repo: string;
  /** Branch to start from; defaults to the branch checked out in `repo`. */
  base?: string;
  runId: string;
  /** Short name for the branch, from the task title. */
  slug: string;
  /** Clones go to `<workspacesDir>/<runId>/repo`. */
  workspacesDir: string;
  author?: { name: string; email: string };
  /** PATH used to find git; defaults to this process's. */
  path?: string;
}

export const DEFAULT_AUTHOR = { name: 'Slipway', email: 'slipway@localhost' };

/** Lines added to the clone's .git/info/exclude: folders a run creates that never belong in a commit. */
export const EXCLUDES = ['/.venv/'];

export async function prepareWorkspace(
  opts: PrepareWorkspaceOptions,
): Promise<{ workspace: GitWorkspace; notices: string[] }> {
  const { path } = opts;
  const runId = checkName(opts.runId, 'run id');
  const slug = slugify(opts.slug);
  const runDir = join(opts.workspacesDir, runId);
  const dir = join(runDir, 'repo');
  const author = opts.author ?? DEFAULT_AUTHOR;
  // --no-hardlinks: objects are copied, so nothing done in the clone can reach the user's objects,
  // refs, hooks or config. Hooks are not copied by clone; host-side git disables them anyway.
  const cloneFrom = (repo: string, base: string) =>
    git(
      ['clone', '--quiet', '--no-hardlinks', '--single-branch', '--no-checkout', '--branch', base,
        '--config', `user.name=${author.name}`, '--config', `user.email=${author.email}`, '--', repo, dir],
      { cwd: runDir, path },
    );
  // A folder that is plainly a work tree's root (.git a folder, its HEAD on a branch) says its base without git:
  // the clone then starts at once, beside inspectRepo, and is kept only if inspectRepo agrees on the repository
  // and the base. Anything else (a subfolder, a worktree, a bare repository, a detached HEAD) clones after it.
  // (Synchronous file calls, of microseconds: the clone starts without waiting its turn for the thread pool.)
  const guessed = existsSync(dir) ? null : guessBase(opts.repo, opts.base);
  let early: Promise<unknown> | null = null;
  if (guessed) {
    mkdirSync(runDir, { recursive: true });
    early = cloneFrom(opts.repo, guessed);
    early.catch(() => undefined); // awaited or dropped below
  }
  const dropEarly = async (): Promise<void> => {
    if (!early) return;
    await early.catch(() => undefined);
    early = null;
    await rm(dir, { recursive: true, force: true });
  };
  const fail = async (error: unknown): Promise<never> => {
    await dropEarly();
    await rmdir(runDir).catch(() => undefined); // only when empty: what else is there stays
    throw error;
  };

  const { root: repo, bare, branches, current, commonDir } = await inspectRepo(opts.repo, path).catch(fail);
  // Looking at the user's tree runs beside the checks and the clone: it only reads.
  const dirty = bare ? Promise.resolve(false) : userTreeIsDirty(repo, path);
  dirty.catch(() => undefined); // awaited below; an early failure must not leave it unhandled
  const base = opts.base ?? current ?? (await currentBranch(repo, path).catch(fail));
  const notices: string[] = [];

  // The branch's commit, as listed: no separate `rev-parse --verify` process.
  const baseCommit = branches.get(base);
  if (!baseCommit) return fail(await unknownBase(repo, base, path));
  if (early && (repo !== opts.repo || base !== guessed)) await dropEarly();

  if (!early && (await exists(dir))) {
    throw new WorkspaceError('workspace_exists', `${dir} already exists`, 'use a new run id, or remove the old workspace');
  }
  // Slug and run id are sanitised above, so the name is a valid ref; checked here without a git process.
  const branch = `slipway/${slug}-${runId}`;
  if (!/^slipway\/[a-z0-9][a-z0-9-]*-[A-Za-z0-9][A-Za-z0-9_-]*$/.test(branch)) {
    return fail(new WorkspaceError('invalid_name', `"${branch}" is not a valid branch name`, 'use a simpler task slug'));
  }
  await mkdir(runDir, { recursive: true });
  try {
    await (early ?? cloneFrom(repo, base));
    // The files the checkout will hold, listed from the commit while it is checked out (see Workspace.filesAtStart).
    const filesAtStart = git(['ls-tree', '-r', '-z', '--name-only', '--full-tree', baseCommit], { cwd: dir, path }).then((r) => r.stdout.split('\0').filter(Boolean));
    filesAtStart.catch(() => undefined); // its user falls back to asking git again
    // Start from the commit that was checked above, even if the base branch moved since.
    await Promise.all([
      git(['checkout', '--quiet', '-b', branch, baseCommit], { cwd: dir, path }),
      appendFile(join(dir, '.git', 'info', 'exclude'), `\n# slipway\n${EXCLUDES.join('\n')}\n`),
    ]);

    if (await dirty) {
      notices.push(`uncommitted changes in ${repo} are not seen by this run; it works from ${base} at ${baseCommit.slice(0, 12)}`);
    }
    if (await exists(join(dir, '.gitmodules'))) notices.push(...(await populateSubmodules(dir, repo, path)));
    const workspace = new GitWorkspace({ dir, runDir, userRepo: repo, userGitDir: commonDir, filesAtStart, branch, base, baseCommit, ...(path ? { path } : {}) });
    return { workspace, notices };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await rmdir(runDir).catch(() => undefined);
    if (err instanceof GitError) {
      throw new WorkspaceError('git_failed', `could not clone ${repo}: ${err.stderr.trim()}`, 'check that git can read the repository', { cause: err });
    }
    throw err;
  }
}

/** A clone started before the run asked for it; see prepareAhead. */
export interface PreparedAhead {
  /** prepareWorkspace, except that the first call with the options given ahead gets the clone already under way. */
  prepare(opts: PrepareWorkspaceOptions): Promise<{ workspace: GitWorkspace; notices: string[] }>;
  /** Removes the clone if no run took it (the run failed before it got that far). */
  abandon(): Promise<void>;
}

/**
 * Starts cloning now, so the clone runs beside the rest of start-up (opening the store, loading the model
 * client); failures surface when the run asks for the workspace, exactly as if it had cloned then.
 */
export function prepareAhead(ahead: PrepareWorkspaceOptions): PreparedAhead {
  const started = prepareWorkspace(ahead);
  started.catch(() => undefined); // surfaces through prepare(), or is dropped by abandon()
  let taken = false;
  // Plain functions, no `this`: callers hand `prepare` on as a function value.
  const abandon = async (): Promise<void> => {
    if (taken) return;
    taken = true;
    const prepared = await started.catch(() => null);
    await prepared?.workspace.dispose();
  };
  const prepare = async (opts: PrepareWorkspaceOptions): Promise<{ workspace: GitWorkspace; notices: string[] }> => {
    if (taken) return prepareWorkspace(opts);
    if (!sameOptions(opts, ahead)) {
      // Started with other options (another author, say): that clone goes, and this one is made as asked.
      await abandon();
      return prepareWorkspace(opts);
    }
    taken = true;
    return started;
  };
  return { prepare, abandon };
}

function sameOptions(a: PrepareWorkspaceOptions, b: PrepareWorkspaceOptions): boolean {
  const author = (o: PrepareWorkspaceOptions) => o.author ?? DEFAULT_AUTHOR;
  return (
    a.repo === b.repo && a.base === b.base && a.runId === b.runId && slugify(a.slug) === slugify(b.slug) &&
    a.workspacesDir === b.workspacesDir && a.path === b.path &&
    author(a).name === author(b).name && author(a).email === author(b).email
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The repository's root, whether it is bare, its common git folder (shared by its worktrees), its branches
 * (name -> commit) and the checked-out branch, in two git processes that run at once. `current` is undefined
 * when HEAD is detached or on a branch without commits.
 */
async function inspectRepo(
  repo: string,
  path: string | undefined,
): Promise<{ root: string; bare: boolean; commonDir: string; branches: Map<string, string>; current: string | undefined }> {
  if (!isAbsolute(repo)) {
    throw new WorkspaceError('invalid_path', `repository path ${JSON.stringify(repo)} is not absolute`, 'pass an absolute path');
  }
  const info = await stat(repo).catch(() => null);
  if (!info) throw new WorkspaceError('no_such_path', `${repo} does not exist`, 'check the path of the repository');
  if (!info.isDirectory()) throw new WorkspaceError('not_a_directory', `${repo} is not a directory`, 'pass the folder of a git repository');
  const [probe, refs] = await Promise.all([
    // Prints what it can before failing: --show-toplevel fails in a bare repository (and inside .git).
    git(['rev-parse', '--is-bare-repository', '--absolute-git-dir', '--git-common-dir', '--show-toplevel'], { cwd: repo, path, allowFailure: true }),
    git(['for-each-ref', '--format=%(HEAD) %(objectname) %(refname)', '--sort=-committerdate', 'refs/heads'], { cwd: repo, path, allowFailure: true }),
  ]);
  const [isBare, gitDir, commonDir, topLevel] = probe.stdout.split('\n');
  if (isBare !== 'true' && isBare !== 'false') {
    throw new WorkspaceError('not_a_repo', `${repo} is not a git repository`, `run \`git init\` in ${repo} and commit, or pass the path of a git repository`);
  }
  const bare = isBare === 'true';
  const root = bare ? gitDir! : topLevel || (await gitLine(['rev-parse', '--show-toplevel'], { cwd: repo, path }));
  if (refs.exitCode !== 0) throw new GitError(['for-each-ref'], refs.exitCode, refs.stderr);
  const branches = new Map<string, string>();
  let current: string | undefined;
  for (const line of refs.stdout.split('\n')) {
    const m = /^([* ]) ([0-9a-f]+) refs\/heads\/(.+)$/.exec(line);
    if (!m) continue;
    branches.set(m[3]!, m[2]!);
    if (m[1] === '*') current = m[3]!;
  }
  if (branches.size === 0) {
    throw new WorkspaceError('empty_repo', `${root} has no commits yet`, 'commit something first (git commit --allow-empty -m "initial commit")');
  }
  // Printed relative to the folder git ran in, unless it is elsewhere.
  return { root, bare, commonDir: resolve(repo, commonDir!), branches, current };
}

/** The base a plain work tree's root starts from, read from its .git/HEAD: `base` when given; null when unsure. */
function guessBase(repo: string, base: string | undefined): string | null {
  if (!isAbsolute(repo)) return null;
  let head: string;
  try {
    // Fails where .git is a file (a worktree, a submodule) or absent (a bare repository, a subfolder).
    head = readFileSync(join(repo, '.git', 'HEAD'), 'utf8');
  } catch {
    return null;
  }
  return base ?? /^ref: refs\/heads\/(\S+)\n?$/.exec(head)?.[1] ?? null;
}

async function currentBranch(repo: string, path: string | undefined): Promise<string> {
  const ref = await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: repo, path, allowFailure: true });
  if (ref.exitCode === 0 && ref.stdout.trim()) return ref.stdout.trim();
  const sha = await git(['rev-parse', '--short=12', 'HEAD'], { cwd: repo, path, allowFailure: true });
  throw new WorkspaceError(
    'detached_head',
    `HEAD in ${repo} is detached${sha.exitCode === 0 ? ` at ${sha.stdout.trim()}` : ''}, so there is no branch to start from`,
    'pass --base <branch> to say which branch the run starts from',
  );
}

async function listBranches(repo: string, path: string | undefined): Promise<string[]> {
  const out = await gitLine(['for-each-ref', '--format=%(refname:short)', '--sort=-committerdate', 'refs/heads'], { cwd: repo, path });
  return out ? out.split('\n') : [];
}

async function unknownBase(repo: string, base: string, path: string | undefined): Promise<WorkspaceError> {
  const branches = await listBranches(repo, path);
  const shown = branches.slice(0, 5).join(', ');
  const more = branches.length > 5 ? ` and ${branches.length - 5} more` : '';
  return new WorkspaceError(
    'unknown_base',
    `no branch "${base}" in ${repo}; it has ${shown}${more}`,
    'pass --base with one of those branches',
  );
}

async function userTreeIsDirty(repo: string, path: string | undefined): Promise<boolean> {
  // --no-optional-locks: looking must not rewrite the user's index.
  const status = await git(['--no-optional-locks', 'status', '--porcelain', '--ignore-submodules=dirty'], { cwd: repo, path });
  return status.stdout.trim().length > 0;
}

function checkName(value: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value) || value.includes('..')) {
    throw new WorkspaceError('invalid_name', `${what} ${JSON.stringify(value)} may only hold letters, digits, ".", "_" and "-"`, `choose another ${what}`);
  }
  return value;
}

/** Lowercase words joined by "-", short enough for a branch name. */
export function slugify(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'task';
}

/**
 * The clone a stopped or escalated run kept (`<workspacesDir>/<runId>/repo`), on its branch, so the run can go on.
 * Its base commit is where the branch left the base branch.
 */
export async function reopenWorkspace(opts: { repo: string; base?: string; branch: string; runId: string; workspacesDir: string; path?: string }): Promise<GitWorkspace> {
  const runId = checkName(opts.runId, 'run id');
  const runDir = join(opts.workspacesDir, runId);
  const dir = join(runDir, 'repo');
  if (!(await exists(join(dir, '.git')))) {
    throw new WorkspaceError('no_such_path', `the clone of run ${runId} is gone (${dir})`, 'start a new run with slipway run');
  }
  const { path } = opts;
  const head = await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: dir, path, allowFailure: true });
  if (head.stdout.trim() !== opts.branch) {
    throw new WorkspaceError('git_failed', `the clone of run ${runId} is not on ${opts.branch}`, `check it out in ${dir}, or start a new run`);
  }
  // The clone is single-branch: besides the run's branch, its one local branch is the base.
  const base = opts.base ?? (await listBranches(dir, path)).find((b) => b !== opts.branch);
  if (!base) throw new WorkspaceError('unknown_base', `the clone of run ${runId} has no base branch`, 'start a new run with slipway run');
  const baseCommit = await gitLine(['merge-base', 'HEAD', `refs/heads/${base}`], { cwd: dir, path });
  return new GitWorkspace({ dir, runDir, userRepo: opts.repo, branch: opts.branch, base, baseCommit, ...(path ? { path } : {}) });
}
