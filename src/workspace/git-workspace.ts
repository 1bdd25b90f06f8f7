/** The `Workspace` port over a private clone: commits, diffs against the base, base checkouts, publishing. */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { appendFile, copyFile, cp, link, lstat, mkdir, readFile, readdir, readlink, realpath, rename, rm, rmdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { FileChange, Workspace } from '../protocol/workspace.js';
import { WorkspaceError } from './errors.js';
import { git, gitLine, type GitResult } from './git.js';
import { isInside } from './paths.js';
import { populateSubmodules } from './submodules.js';

export interface GitWorkspaceInit {
  /** The clone's work tree. */
  dir: string;
  /** Folder of this run (holds the clone and base checkouts). */
  runDir: string;
  /** The user's repository, only ever fetched into by publishBranch. */
  userRepo: string;
  /** The user's repository's common git folder, when known (see Workspace.userGitDir). */
  userGitDir?: string;
  /** See Workspace.filesAtStart. */
  filesAtStart?: Promise<string[]>;
  branch: string;
  base: string;
  baseCommit: string;
  /** PATH used to find git. */
  path?: string;
}

/** How long the tree must stay at rest (the model thinking) before stageAhead stages it. */
export const STAGE_AHEAD_AFTER_MS = 50;

/** Ignored folders of installed dependencies, hard-linked into base checkouts so their tests can run. */
const DEPENDENCY_DIRS = ['node_modules', '.venv'];

/** What differs from the base: files with their status, `--stat` text and the unified patch. */
interface Changes {
  files: FileChange[];
  stat: string;
  patch: string;
}

const DIFF_FLAGS = ['--no-ext-diff', '--no-textconv', '--no-color', '--ignore-submodules=all', '-M'];

export class GitWorkspace implements Workspace {
  readonly dir: string;
  readonly branch: string;
  readonly base: string;
  readonly baseCommit: string;
  readonly runDir: string;
  readonly userGitDir: string | undefined;
  readonly filesAtStart: Promise<string[]> | undefined;
  private readonly userRepo: string;
  private readonly path: string | undefined;
  private checkouts = 0;
  /**
   * HEAD as this object last set or read it. Only host-side git here moves HEAD (the sandbox sees .git
   * read-only), so it stays right between commits and saves a `rev-parse` process.
   */
  private knownHead: string | undefined;
  private commits = 0;
  /**
   * Bumped by touch() (a tool wrote, a command ran in the clone) and by exclude(): while it stays the same, the
   * work tree is as git last saw it, and commits and diffs are answered without staging the tree again (each
   * `status` or `add -A` is a pass over the whole tree: tens of milliseconds in a large repository).
   */
  private generation = 0;
  /** The generation at which the work tree was last found, or made, fully committed. */
  private committedAt: number | undefined;
  /** The last change computed: its generation, and the temporary index it came from (see changes()). */
  private lastChanges: { generation: number; index: Buffer | null; changes: Changes } | undefined;
  /** The tree staged ahead of a commit (stageAhead): the generation it is for, and its index file once made. */
  private ahead: { generation: number; staged: Promise<string | null> } | undefined;
  private aheadTimer: NodeJS.Timeout | undefined;

  constructor(init: GitWorkspaceInit) {
    this.dir = init.dir;
    this.runDir = init.runDir;
    this.userRepo = init.userRepo;
    this.userGitDir = init.userGitDir;
    this.filesAtStart = init.filesAtStart;
    this.branch = init.branch;
    this.base = init.base;
    this.baseCommit = init.baseCommit;
    this.path = init.path;
  }

  private git(args: readonly string[], env?: Record<string, string>, allowFailure = false): Promise<GitResult> {
    return git(args, { cwd: this.dir, path: this.path, allowFailure, ...(env ? { env } : {}) });
  }

  touch(): void {
    this.generation++;
    clearTimeout(this.aheadTimer);
  }

  /**
   * The tree is at rest for now (a tool just ran; the model thinks): once it has stayed so for STAGE_AHEAD_AFTER_MS,
   * it is staged into a throwaway index and diffed in the background, so that the commit or diff that follows
   * finds that work done if nothing touched the tree meanwhile. If something did, the result is worth nothing and
   * is dropped. (A model that answers at once leaves no time to win: the wait keeps the work off its path.) One at
   * a time: a newer one starts once the one before has settled, and removes its index.
   */
  stageAhead(): void {
    clearTimeout(this.aheadTimer);
    const generation = this.generation;
    if (generation === 0 || this.ahead?.generation === generation || this.committedAt === generation || this.lastChanges?.generation === generation) return;
    this.aheadTimer = setTimeout(() => {
      if (this.generation === generation) this.startStagingAhead(generation);
    }, STAGE_AHEAD_AFTER_MS);
    this.aheadTimer.unref();
  }

  private startStagingAhead(generation: number): void {
    const before = this.ahead?.staged;
    const staged = (async (): Promise<string | null> => {
      await before?.then((file) => (file ? rm(file, { force: true }) : undefined)).catch(() => undefined);
      if (this.generation !== generation) return null;
      let file: string | undefined;
      try {
        const staged = await this.stageThrowaway();
        file = staged.file;
        if (this.generation !== generation) throw new Error('touched meanwhile');
        const changes = parseRawStatPatch((await this.git(this.diffArgs(true), staged.env)).stdout);
        if (this.generation !== generation) throw new Error('touched meanwhile');
        if (this.lastChanges?.generation !== generation) this.lastChanges = { generation, index: null, changes };
        return file;
      } catch {
        if (file) await rm(file, { force: true });
        return null;
      }
    })();
    this.ahead = { generation, staged };
  }

  /**
   * The work tree staged into a throwaway index, which the caller removes. It starts from the real index, for its
   * stat cache: `add -A` then only hashes the files that changed.
   */
  private async stageThrowaway(): Promise<{ file: string; env: Record<string, string> }> {
    const gitDir = join(this.dir, '.git');
    const file = join(gitDir, `slipway-index-${randomBytes(6).toString('hex')}`);
    const env = { GIT_INDEX_FILE: file };
    try {
      await copyIndex(join(gitDir, 'index'), file);
      await this.git(['add', '-A'], env);
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
    return { file, env };
  }

  /** Stops staging ahead: one not started never starts, one under way is awaited and its index removed. */
  async stopStagingAhead(): Promise<void> {
    clearTimeout(this.aheadTimer);
    const ahead = this.ahead;
    this.ahead = undefined;
    const file = await ahead?.staged;
    if (file) await rm(file, { force: true });
  }

  /** The index stageAhead made for the tree as it is now, made the real one; false when there is none. */
  private async takeStagedAhead(generation: number): Promise<boolean> {
    clearTimeout(this.aheadTimer); // not started yet: the caller stages now
    const ahead = this.ahead;
    if (!ahead) return false;
    this.ahead = undefined;
    const file = await ahead.staged;
    if (!file) return false;
    if (ahead.generation !== generation || this.generation !== generation) {
      await rm(file, { force: true });
      return false;
    }
    await rename(file, join(this.dir, '.git', 'index'));
    return true;
  }

  async commitAll(message: string): Promise<string> {
    const generation = this.generation;
    // Nothing touched the tree since it was last all committed (shipping after the verifier): no process at all.
    if (this.committedAt === generation && this.knownHead) return this.knownHead;
    // A tree nobody touched yet (a fresh or reopened clone): one `status` process says whether there is anything
    // to commit, and when there is not, saves `add`, `commit` and `diff --cached`. A touched tree usually holds
    // the change the commit is for: stage it at once.
    if (generation === 0) {
      const status = await this.git(['status', '--porcelain', '-z', '--untracked-files=all', '--ignore-submodules=all', '--no-renames']);
      if (status.stdout === '') {
        const head = this.knownHead ?? (await this.head());
        this.committedAt = generation;
        return head;
      }
    }
    // Staged already while the model was thinking (stageAhead), or now.
    if (!(await this.takeStagedAhead(generation))) await this.git(['add', '-A']);
    this.knownHead = undefined;
    this.commits++;
    // The change against the base, from the index just staged, while the commit is made: the diff of the commit
    // to come, asked for by the verifier next, at no extra wait (none at all when stageAhead made it). It takes no
    // lock (--no-optional-locks), so the commit's own lock on the index is never in its way.
    const diffing = this.lastChanges?.generation === generation ? Promise.resolve(null) : this.git(['--no-optional-locks', ...this.diffArgs(true)]);
    diffing.catch(() => undefined); // a failed diff is only not kept
    const committed = await this.git(['commit', '--quiet', '--no-verify', '--no-gpg-sign', '-m', message], undefined, true);
    const keepDiff = async () => {
      const diffed = await diffing.catch(() => null);
      if (diffed && this.generation === generation) this.lastChanges = { generation, index: null, changes: parseRawStatPatch(diffed.stdout) };
    };
    if (committed.exitCode !== 0) {
      // Nothing staged differs from HEAD (a file changed and changed back, a command that changed nothing).
      const staged = await this.git(['diff', '--cached', '--quiet', '--ignore-submodules=all'], undefined, true);
      if (staged.exitCode === 0) {
        const head = this.knownHead ?? (await this.head());
        this.committedAt = generation;
        await keepDiff();
        return head;
      }
      throw new WorkspaceError('git_failed', `git commit failed: ${committed.stderr.trim() || '(no output)'}`, 'see the git message');
    }
    const head = await this.headAfterCommit();
    this.committedAt = generation;
    await keepDiff();
    return head;
  }

  /**
   * `git diff` of the base against the index (`cached`), or against a commit added after these arguments: the
   * files, the stat and the patch at once (parseRawStatPatch).
   */
  private diffArgs(cached = false): string[] {
    // quotePath off: names outside ASCII read as they are (café.md, not "caf\303\251.md") in the stat and patch.
    return ['-c', 'core.quotePath=false', 'diff', ...(cached ? ['--cached'] : []), ...DIFF_FLAGS, '--raw', '-z', '--stat=200', '--patch', this.baseCommit];
  }

  async head(): Promise<string> {
    const commits = this.commits;
    const head = await gitLine(['rev-parse', 'HEAD'], { cwd: this.dir, path: this.path });
    if (commits === this.commits) this.knownHead = head;
    return head;
  }

  /**
   * The commit just made, from the branch's loose ref (a commit writes it): no `rev-parse` process. Only
   * host-side git moves the branch (the sandbox sees .git read-only); anything unexpected asks git.
   */
  private async headAfterCommit(): Promise<string> {
    const commits = this.commits;
    const [headFile, ref] = await Promise.all([
      readFile(join(this.dir, '.git', 'HEAD'), 'utf8').catch(() => ''),
      readFile(join(this.dir, '.git', 'refs', 'heads', ...this.branch.split('/')), 'utf8').catch(() => ''),
    ]);
    const sha = ref.trim();
    if (headFile.trim() !== `ref: refs/heads/${this.branch}` || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) return this.head();
    if (commits === this.commits) this.knownHead = sha;
    return sha;
  }

  /**
   * The change against the base, untracked files included. While nothing touched the tree since the last
   * answer, that answer stands. When the tree is all committed (just after commitAll), it is the diff of the
   * base against HEAD. Otherwise the whole work tree is staged into a throwaway index (so new files count while
   * the clone's real index stays as it was), and one `git diff` gives the files, the stat and the patch
   * together. That result is kept with the bytes of its index: an index that comes out byte for byte the same
   * holds the same blobs (a command ran and changed nothing), and the next caller gets it without a second diff.
   */
  private async changes(): Promise<Changes> {
    const generation = this.generation;
    clearTimeout(this.aheadTimer); // not started yet: staged here instead
    if (this.ahead?.generation === generation) await this.ahead.staged;
    if (this.lastChanges?.generation === generation) return this.lastChanges.changes;
    if (this.committedAt === generation && this.knownHead) {
      const changes = parseRawStatPatch((await this.git([...this.diffArgs(), this.knownHead])).stdout);
      this.lastChanges = { generation, index: null, changes };
      return changes;
    }
    const { file: indexFile, env } = await this.stageThrowaway();
    try {
      const index = await readFile(indexFile);
      if (this.lastChanges?.index?.equals(index)) {
        this.lastChanges = { ...this.lastChanges, generation };
        return this.lastChanges.changes;
      }
      const changes = parseRawStatPatch((await this.git(this.diffArgs(true), env)).stdout);
      this.lastChanges = { generation, index, changes };
      return changes;
    } finally {
      await rm(indexFile, { force: true });
    }
  }

  async diff(): Promise<string> {
    return (await this.changes()).patch;
  }

  async diffStat(): Promise<string> {
    return (await this.changes()).stat;
  }

  async changedFiles(): Promise<FileChange[]> {
    return (await this.changes()).files;
  }

  async readAtBase(path: string): Promise<string | null> {
    const rel = safeRelative(path);
    const result = await this.git(['cat-file', 'blob', `${this.baseCommit}:${rel}`], undefined, true);
    return result.exitCode === 0 ? result.stdout : null;
  }

  async checkoutBaseWith(paths: string[], contents: Record<string, string> = {}): Promise<{ dir: string; dispose(): Promise<void> }> {
    const rels = paths.map(safeRelative);
    const written = Object.entries(contents).map(([rel, text]) => [safeRelative(rel), text] as const);
    const target = join(this.runDir, `base-${++this.checkouts}`);
    await rm(target, { recursive: true, force: true });
    await this.git(['worktree', 'add', '--detach', '--quiet', target, this.baseCommit]);
    const dispose = async (): Promise<void> => {
      await this.git(['worktree', 'remove', '--force', target], undefined, true);
      await rm(target, { recursive: true, force: true });
      await this.git(['worktree', 'prune'], undefined, true);
    };
    try {
      // The clone's submodules, from the clone's own copies: the base runs against what the change runs against.
      if ((await lstat(join(target, '.gitmodules')).catch(() => null))?.isFile()) await populateSubmodules(target, this.dir, this.path);
      for (const rel of rels) await overlay(this.dir, target, rel);
      for (const [rel, text] of written) {
        const dst = join(target, rel);
        await assertParentInside(target, dst, rel);
        await rm(dst, { recursive: true, force: true });
        await mkdir(dirname(dst), { recursive: true });
        await writeFile(dst, text);
      }
      // Installed dependencies are ignored files, so the checkout lacks them: link them in.
      for (const name of DEPENDENCY_DIRS) {
        const src = join(this.dir, name);
        if ((await lstat(src).catch(() => null))?.isDirectory() && !(await lstat(join(target, name)).catch(() => null))) {
          await linkTree(src, join(target, name));
        }
      }
    } catch (err) {
      await dispose();
      throw err;
    }
    return { dir: target, dispose };
  }

  async untracked(): Promise<string[]> {
    const out = (await this.git(['ls-files', '--others', '--exclude-standard', '--directory', '--no-empty-directory', '-z'])).stdout;
    return out.split('\0').filter(Boolean);
  }

  async exclude(paths: string[]): Promise<void> {
    // Anchored, with gitignore's special characters escaped, so each line names exactly that path. A name with
    // a line break cannot be written as a pattern: it stays in the change.
    const lines = paths.filter((p) => !/[\n\r]/.test(p)).map((p) => `/${p.replace(/[\\*?[\]!#]/g, (c) => `\\${c}`).replace(/ $/, '\\ ')}`);
    if (lines.length === 0) return;
    // What staging picks up changes: the next commit or diff looks at the tree again.
    this.touch();
    await appendFile(join(this.dir, '.git', 'info', 'exclude'), `# slipway: made by installing and testing, not by the change\n${lines.join('\n')}\n`);
    this.touch();
  }

  async publishBranch(): Promise<void> {
    if (this.branch === this.base || !this.branch.startsWith('slipway/')) {
      throw new WorkspaceError('invalid_name', `refusing to publish ${this.branch}`, 'publish only slipway/ branches');
    }
    const ref = `refs/heads/${this.branch}`;
    // Runs in the user's repository but only writes the run's own ref: fetch refuses to update the
    // checked-out branch, never touches the work tree or index, and FETCH_HEAD is left alone.
    const fetched = await git(
      ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', this.dir, `+${ref}:${ref}`],
      { cwd: this.userRepo, path: this.path, allowFailure: true },
    );
    if (fetched.exitCode === 0) return;
    const run = basename(this.runDir);
    const where = /checked out at '([^']+)'/.exec(fetched.stderr)?.[1];
    if (where !== undefined || /refusing to fetch into/.test(fetched.stderr)) {
      // Someone looked at the run's branch by checking it out (after an escalation, say): git does not move a
      // branch under a work tree, and neither does Slipway.
      throw new WorkspaceError(
        'branch_checked_out',
        `${this.branch} is checked out in ${where ?? this.userRepo}, so the run's new work cannot be put on it there; the work is kept in ${this.dir}`,
        `Switch that work tree to another branch (git switch ${this.base}), then go on with: slipway resume ${run}`,
      );
    }
    throw new WorkspaceError(
      'git_failed',
      `could not fetch ${this.branch} into ${this.userRepo}: ${fetched.stderr.trim() || `git exited with ${fetched.exitCode}`}; the work is kept in ${this.dir}`,
      `Once git can write to that repository, go on with: slipway resume ${run}`,
    );
  }

  async dispose(options: { runOver?: boolean } = {}): Promise<void> {
    const entries = await readdir(this.runDir).catch(() => [] as string[]);
    // The clone and the base checkouts; when the run is over, its cache for commands (npm's, pip's ...) too: all
    // of the run's folder but the file that says which process holds the run. (A clone made ahead and given back
    // leaves the cache to the run that goes on.)
    const doomed = [this.dir, ...entries.filter((name) => /^base-\d+$/.test(name) || (options.runOver && name === 'cache')).map((name) => join(this.runDir, name))];
    if (!options.runOver) {
      for (const path of doomed) await rm(path, { recursive: true, force: true });
      await rmdir(this.runDir).catch(() => undefined);
      return;
    }
    // Out of the way at once (a rename), then removed by a process of its own: deleting a large clone file by
    // file takes seconds, and nothing waits for it (it outlives this process too).
    const trash = join(dirname(this.runDir), '.trash');
    await mkdir(trash, { recursive: true });
    const moved: string[] = [];
    for (const path of doomed) {
      const to = join(trash, `${basename(this.runDir)}-${basename(path)}-${randomBytes(4).toString('hex')}`);
      try {
        await rename(path, to);
        moved.push(to);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') await rm(path, { recursive: true, force: true });
      }
    }
    await rmdir(this.runDir).catch(() => undefined);
    // Whatever an earlier removal left there (its process was killed, the machine went down) goes too.
    const left = (await readdir(trash).catch(() => [] as string[])).map((name) => join(trash, name)).filter((p) => !moved.includes(p));
    if (moved.length > 0) removeInBackground(trash, [...moved, ...left]);
  }
}

/** Removes `paths`, then `folder` if that left it empty, in a detached process; removes them here if none starts. */
function removeInBackground(folder: string, paths: string[]): void {
  const here = () => void Promise.all(paths.map((p) => rm(p, { recursive: true, force: true }))).then(() => rmdir(folder)).catch(() => undefined);
  try {
    const child = spawn('/bin/sh', ['-c', 'rmdir_after="$1"; shift; rm -rf -- "$@"; rmdir -- "$rmdir_after" 2>/dev/null; exit 0', 'slipway-rm', folder, ...paths], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin' },
    });
    child.on('error', here);
    child.unref();
  } catch {
    here();
  }
}

/** A relative path that stays inside the tree. */
export function safeRelative(path: string): string {
  const rel = normalize(path.replace(/^\.\/+/, ''));
  if (!rel || rel === '.' || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`) || rel.split(sep)[0] === '.git') {
    throw new WorkspaceError('unsafe_path', `path ${JSON.stringify(path)} is not inside the repository`, 'use a path relative to the repository root');
  }
  return rel;
}

/**
 * Copy one path over the checkout as it is now: symlinks stay links (never followed), absent means
 * deleted. The work tree is written by sandboxed commands, so a folder on either side that is a symlink
 * out of its tree (tests -> ~/.ssh) is refused rather than followed.
 */
async function overlay(srcRoot: string, dstRoot: string, rel: string): Promise<void> {
  const src = join(srcRoot, rel);
  const dst = join(dstRoot, rel);
  await assertParentInside(srcRoot, src, rel);
  await assertParentInside(dstRoot, dst, rel);
  const info = await lstat(src).catch(() => null);
  await rm(dst, { recursive: true, force: true });
  if (!info) return;
  await mkdir(dirname(dst), { recursive: true });
  if (info.isSymbolicLink()) await symlink(await readlink(src), dst);
  else if (info.isDirectory()) await cp(src, dst, { recursive: true, verbatimSymlinks: true, filter: (s) => !s.endsWith(`${sep}.git`) });
  else if (info.isFile()) await copyFile(src, dst);
}

/** The nearest existing folder above `path` must resolve inside `root`. */
async function assertParentInside(root: string, path: string, rel: string): Promise<void> {
  const realRoot = await realpath(root);
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const real = await realpath(dir).catch(() => null);
    if (real !== null) {
      if (!isInside(real, realRoot)) {
        throw new WorkspaceError('unsafe_path', `${rel} goes through a symlink out of the repository`, 'remove the symlinked folder or leave the file out');
      }
      return;
    }
    if (dir === root || dir === dirname(dir)) return;
  }
}

/** Recreate a tree with hard links (copies across file systems); links stay links. */
async function linkTree(src: string, dst: string): Promise<void> {
  await mkdir(dst, { recursive: true });
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const from = join(src, entry.name);
    const to = join(dst, entry.name);
    if (entry.isDirectory()) await linkTree(from, to);
    else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
    else if (entry.isFile()) await link(from, to).catch(() => copyFile(from, to));
  }
}

/**
 * Splits the output of `git diff --raw -z --stat --patch`: raw records (`:modes shas STATUS\0path\0`, two
 * paths for renames and copies), then the stat text, a NUL, and the patch. No change gives empty output.
 */
export function parseRawStatPatch(out: string): Changes {
  const files: FileChange[] = [];
  let at = 0;
  while (out[at] === ':') {
    const metaEnd = out.indexOf('\0', at);
    if (metaEnd < 0) break;
    const kind = out.slice(at, metaEnd).split(' ').at(-1)?.[0];
    const firstEnd = out.indexOf('\0', metaEnd + 1);
    const first = out.slice(metaEnd + 1, firstEnd);
    at = firstEnd + 1;
    if (kind === 'R' || kind === 'C') {
      const secondEnd = out.indexOf('\0', at);
      const to = out.slice(at, secondEnd);
      at = secondEnd + 1;
      files.push({ path: to, status: kind === 'R' ? 'renamed' : 'added' });
      continue;
    }
    files.push({ path: first, status: kind === 'A' ? 'added' : kind === 'D' ? 'deleted' : 'modified' });
  }
  const rest = out.slice(at);
  const split = rest.indexOf('\0');
  return split < 0 ? { files, stat: rest, patch: '' } : { files, stat: rest.slice(0, split), patch: rest.slice(split + 1) };
}

/**
 * Copies an index with its modification time: git trusts an entry's cached stat only when the file was changed
 * before the index was written ("racy git"). A copy dated now would make a file edited in the same second as the
 * checkout, to the same size, look unchanged. Without an index to copy, git starts from none.
 */
async function copyIndex(from: string, to: string): Promise<void> {
  try {
    const info = await stat(from);
    await copyFile(from, to);
    await utimes(to, info.atime, info.mtime);
  } catch {
    await rm(to, { force: true });
  }
}
