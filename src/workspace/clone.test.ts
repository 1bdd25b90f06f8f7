import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareAhead, prepareWorkspace, slugify } from './clone.js';
import { WorkspaceError } from './errors.js';
import { STAGE_AHEAD_AFTER_MS, type GitWorkspace } from './git-workspace.js';
import { gitCmd, makeRepo, removeDir, repoState, sh, tempDir, writeFiles } from './test-helpers.js';

const cleanup: string[] = [];
afterEach(() => {
  for (const dir of cleanup.splice(0)) removeDir(dir);
});

function fixture(files?: Record<string, string>): { repo: string; workspacesDir: string } {
  const repo = makeRepo(files);
  const workspacesDir = tempDir('slipway-wsdir-');
  cleanup.push(repo, workspacesDir);
  return { repo, workspacesDir };
}

async function prepare(repo: string, workspacesDir: string, extra: { base?: string; runId?: string } = {}): Promise<{ workspace: GitWorkspace; notices: string[] }> {
  return prepareWorkspace({ repo, workspacesDir, runId: extra.runId ?? 'r1', slug: 'fix the thing', ...(extra.base ? { base: extra.base } : {}) });
}

/** A PATH whose first git logs each call (its arguments, one line) and then runs the real one. */
function loggingGit(): { path: string; calls: () => string[] } {
  const bin = tempDir('slipway-git-log-');
  cleanup.push(bin);
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >> "${join(bin, 'calls')}"\nexec ${realGit} "$@"\n`, { mode: 0o755 });
  return {
    path: `${bin}:${process.env.PATH}`,
    calls: () => (existsSync(join(bin, 'calls')) ? readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n') : []),
  };
}

async function rejection(promise: Promise<unknown>): Promise<WorkspaceError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkspaceError);
  return err as WorkspaceError;
}

describe('prepareWorkspace', () => {
  it('clones onto a run branch from the checked-out branch, with its own identity', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const { workspace, notices } = await prepare(repo, workspacesDir);
    expect(notices).toEqual([]);
    expect(workspace.dir).toBe(join(workspacesDir, 'r1', 'repo'));
    expect(workspace.branch).toBe('slipway/fix-the-thing-r1');
    expect(workspace.base).toBe('main');
    expect(workspace.baseCommit).toBe(gitCmd(repo, 'rev-parse', 'main'));
    expect(gitCmd(workspace.dir, 'symbolic-ref', '--short', 'HEAD')).toBe(workspace.branch);
    expect(sh(workspace.dir, 'git', 'config', '--local', 'user.email')).toBe('slipway@localhost');
    expect(readFileSync(join(workspace.dir, 'a.txt'), 'utf8')).toBe('one\n');
  });

  it("knows the files it was made with, and the user's common git folder, where its locks go: from a subfolder and from a worktree too", async () => {
    const { repo, workspacesDir } = fixture({ 'src/a.txt': 'one\n', 'src/deep/.env': 'KEY=1\n', 'b c.txt': 'b\n' });
    const first = await prepare(repo, workspacesDir);
    expect(first.workspace.userGitDir).toBe(join(repo, '.git'));
    // The files it was made with, listed while it was checked out.
    expect((await first.workspace.filesAtStart)?.sort()).toEqual(['b c.txt', 'src/a.txt', 'src/deep/.env']);
    expect((await prepare(join(repo, 'src'), workspacesDir, { runId: 'r2' })).workspace.userGitDir).toBe(join(repo, '.git'));
    const worktree = tempDir('slipway-worktree-');
    cleanup.push(worktree);
    gitCmd(repo, 'worktree', 'add', '--quiet', '-b', 'other', join(worktree, 'wt'));
    const fromWorktree = await prepare(join(worktree, 'wt'), workspacesDir, { runId: 'r3' });
    expect(fromWorktree.workspace.base).toBe('other');
    expect(fromWorktree.workspace.userGitDir).toBe(join(repo, '.git'));
  });

  it('reports uncommitted changes in the user tree and leaves them alone', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    writeFileSync(join(repo, 'a.txt'), 'edited\n');
    writeFileSync(join(repo, 'new.txt'), 'untracked\n');
    gitCmd(repo, 'add', 'new.txt');
    const before = repoState(repo);
    const { workspace, notices } = await prepare(repo, workspacesDir);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`uncommitted changes in ${repo} are not seen by this run; it works from main at ${workspace.baseCommit.slice(0, 12)}`);
    expect(readFileSync(join(workspace.dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(workspace.dir, 'new.txt'))).toBe(false);
    expect(repoState(repo)).toEqual(before);
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('edited\n');
  });

  it('checks out submodules from the user\'s own copies of them, sharing no object file, and says which stay empty', async () => {
    const dep = makeRepo({ 'index.js': 'module.exports = 1;\n' });
    const other = makeRepo({ 'lib.c': 'int x;\n' });
    cleanup.push(dep, other);
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    gitCmd(repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', dep, 'vendor/dep');
    gitCmd(repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', other, 'vendor/other');
    gitCmd(repo, 'commit', '-qm', 'two submodules');
    // The user has not checked this one out here, and its URL leads nowhere: it must not be fetched.
    gitCmd(repo, 'config', '--file', '.gitmodules', 'submodule.vendor/other.url', 'https://example.invalid/other.git');
    gitCmd(repo, 'commit', '-qam', 'other elsewhere');
    gitCmd(repo, 'submodule', 'deinit', '-q', '-f', 'vendor/other');
    rmSync(join(repo, '.git', 'modules', 'vendor', 'other'), { recursive: true, force: true });
    const { workspace, notices } = await prepare(repo, workspacesDir);
    expect(readFileSync(join(workspace.dir, 'vendor', 'dep', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect(notices).toEqual([`the clone has these git submodules empty (not checked out in ${repo}, or their commit is not there): vendor/other; code or tests that need them will not find them`]);
    // Copied, not hard-linked: no object file of the clone's submodule is one of the user's.
    const objects = join(workspace.dir, '.git', 'modules', 'vendor', 'dep', 'objects');
    const files = sh(objects, 'find', '.', '-type', 'f').split('\n').filter(Boolean);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(join(objects, f)).nlink).toBe(1);
    // A checkout of the base (the proof's) has them too, and goes away whole.
    const base = await workspace.checkoutBaseWith([]);
    expect(readFileSync(join(base.dir, 'vendor', 'dep', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
    await base.dispose();
    expect(existsSync(base.dir)).toBe(false);
    expect(gitCmd(workspace.dir, 'worktree', 'list')).not.toContain(base.dir);
  });

  it('checks out nested submodules from the copies inside the user\'s copy of their parent', async () => {
    const leaf = makeRepo({ 'leaf.txt': 'deep\n' });
    const mid = makeRepo({ 'mid.txt': 'middle\n' });
    cleanup.push(leaf, mid);
    gitCmd(mid, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', leaf, 'deps/leaf');
    gitCmd(mid, 'commit', '-qm', 'leaf');
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    gitCmd(repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', mid, 'vendor/mid');
    gitCmd(repo, 'commit', '-qm', 'mid');
    gitCmd(repo, '-c', 'protocol.file.allow=always', 'submodule', 'update', '-q', '--init', '--recursive');
    // Their URLs lead nowhere from here on: only the user's copies can fill them.
    rmSync(leaf, { recursive: true, force: true });
    rmSync(mid, { recursive: true, force: true });
    const { workspace, notices } = await prepare(repo, workspacesDir);
    expect(notices).toEqual([]);
    expect(readFileSync(join(workspace.dir, 'vendor', 'mid', 'deps', 'leaf', 'leaf.txt'), 'utf8')).toBe('deep\n');
    const base = await workspace.checkoutBaseWith([]);
    expect(readFileSync(join(base.dir, 'vendor', 'mid', 'deps', 'leaf', 'leaf.txt'), 'utf8')).toBe('deep\n');
    await base.dispose();
  });

  it('fails on an unknown base, naming the branches there are', async () => {
    const { repo, workspacesDir } = fixture();
    gitCmd(repo, 'branch', 'develop');
    const err = await rejection(prepare(repo, workspacesDir, { base: 'nope' }));
    expect(err.code).toBe('unknown_base');
    expect(err.message).toContain('"nope"');
    expect(err.message).toMatch(/develop/);
    expect(err.message).toMatch(/main/);
    expect(err.hint).toContain('--base');
    // The clone started at once from the named base failed too, and left nothing behind.
    expect(readdirSync(workspacesDir)).toEqual([]);
  });

  it('clones from the repository git names, and leaves nothing of a clone started on a guess it did not confirm', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    // Reached through a link: the guess clones through it, git names the real folder, so it clones again there.
    const links = tempDir('slipway-link-');
    cleanup.push(links);
    symlinkSync(repo, join(links, 'repo'));
    const { workspace } = await prepare(join(links, 'repo'), workspacesDir);
    expect(workspace.baseCommit).toBe(gitCmd(repo, 'rev-parse', 'main'));
    expect(readFileSync(join(workspace.dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(gitCmd(workspace.dir, 'remote', 'get-url', 'origin')).toBe(repo);
    expect(readdirSync(join(workspacesDir, 'r1'))).toEqual(['repo']);
    // A base named by the caller is cloned at once, whatever HEAD says.
    gitCmd(repo, 'branch', 'develop');
    const other = await prepare(repo, workspacesDir, { runId: 'r2', base: 'develop' });
    expect(other.workspace.base).toBe('develop');
    // A failure after the guess (an existing workspace folder) takes away nothing that was there.
    mkdirSync(join(workspacesDir, 'r3', 'repo'), { recursive: true });
    writeFileSync(join(workspacesDir, 'r3', 'repo', 'keep.txt'), 'mine');
    expect((await rejection(prepare(repo, workspacesDir, { runId: 'r3' }))).code).toBe('workspace_exists');
    expect(readFileSync(join(workspacesDir, 'r3', 'repo', 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('fails on a folder that is not a repository, a missing path and a file', async () => {
    const dir = tempDir();
    const workspacesDir = tempDir();
    cleanup.push(dir, workspacesDir);
    expect((await rejection(prepare(dir, workspacesDir))).code).toBe('not_a_repo');
    // A folder whose .git/HEAD looks right but is no repository: the clone started on that guess leaves nothing.
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    expect((await rejection(prepare(dir, workspacesDir))).code).toBe('not_a_repo');
    expect(readdirSync(workspacesDir)).toEqual([]);
    rmSync(join(dir, '.git'), { recursive: true });
    expect((await rejection(prepare(join(dir, 'missing'), workspacesDir))).code).toBe('no_such_path');
    writeFileSync(join(dir, 'file'), 'x');
    expect((await rejection(prepare(join(dir, 'file'), workspacesDir))).code).toBe('not_a_directory');
    expect((await rejection(prepare('relative/path', workspacesDir))).code).toBe('invalid_path');
  });

  it('fails on a repository without commits and on a detached HEAD', async () => {
    const empty = tempDir();
    const workspacesDir = tempDir();
    cleanup.push(empty, workspacesDir);
    gitCmd(empty, 'init', '-q');
    expect((await rejection(prepare(empty, workspacesDir))).code).toBe('empty_repo');
    const { repo } = fixture();
    gitCmd(repo, 'checkout', '-q', '--detach');
    const err = await rejection(prepare(repo, workspacesDir));
    expect(err.code).toBe('detached_head');
    expect(err.hint).toContain('--base');
    const { workspace } = await prepare(repo, workspacesDir, { base: 'main' });
    expect(workspace.base).toBe('main');
  });

  it('isolates the clone: hooks and config written there never reach the user repository', async () => {
    const { repo, workspacesDir } = fixture();
    const { workspace } = await prepare(repo, workspacesDir);
    const marker = join(workspacesDir, 'hook-ran');
    const hook = `#!/bin/sh\ntouch ${marker}\n`;
    for (const name of ['pre-commit', 'post-commit', 'reference-transaction', 'post-checkout']) {
      writeFileSync(join(workspace.dir, '.git', 'hooks', name), hook, { mode: 0o755 });
    }
    gitCmd(workspace.dir, 'config', 'core.fsmonitor', `touch ${marker}; echo`);
    expect(existsSync(join(repo, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(readFileSync(join(repo, '.git', 'config'), 'utf8')).not.toContain('fsmonitor');
    // Host-side operations on the clone run none of them.
    writeFileSync(join(workspace.dir, 'b.txt'), 'b\n');
    await workspace.commitAll('add b');
    await workspace.diff();
    const base = await workspace.checkoutBaseWith(['b.txt']);
    await base.dispose();
    await workspace.publishBranch();
    expect(existsSync(marker)).toBe(false);
    // The clone has its own objects: nothing is hard-linked to the user's.
    expect(readFileSync(join(workspace.dir, '.git', 'config'), 'utf8')).not.toContain('alternates');
    expect(existsSync(join(workspace.dir, '.git', 'objects', 'info', 'alternates'))).toBe(false);
  });

  it('refuses an existing workspace folder and odd run ids', async () => {
    const { repo, workspacesDir } = fixture();
    await prepare(repo, workspacesDir);
    expect((await rejection(prepare(repo, workspacesDir))).code).toBe('workspace_exists');
    expect((await rejection(prepare(repo, workspacesDir, { runId: '../escape' }))).code).toBe('invalid_name');
  });
});

describe('GitWorkspace', () => {
  it('diffs the work tree against the base, untracked files included, without touching the index', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n', 'gone.txt': 'bye\n', 'old-name.txt': 'same content here\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'a.txt'), 'two\n');
    writeFiles(workspace.dir, { 'src/new.ts': 'export const x = 1;\n' });
    gitCmd(workspace.dir, 'rm', '-q', 'gone.txt');
    gitCmd(workspace.dir, 'mv', 'old-name.txt', 'new-name.txt');
    const indexBefore = gitCmd(workspace.dir, 'ls-files', '-s');

    const diff = await workspace.diff();
    expect(diff).toContain('+++ b/src/new.ts');
    expect(diff).toContain('+export const x = 1;');
    expect(diff).toContain('-one');
    expect(diff).toContain('+two');
    expect(await workspace.diffStat()).toMatch(/src\/new\.ts\s+\|\s+1 \+/);
    const changes = await workspace.changedFiles();
    expect(changes).toEqual(
      expect.arrayContaining([
        { path: 'a.txt', status: 'modified' },
        { path: 'src/new.ts', status: 'added' },
        { path: 'gone.txt', status: 'deleted' },
        { path: 'new-name.txt', status: 'renamed' },
      ]),
    );
    expect(gitCmd(workspace.dir, 'ls-files', '-s')).toBe(indexBefore);
    expect(gitCmd(workspace.dir, 'ls-files', '--others', '--exclude-standard')).toBe('src/new.ts');
  });

  it('commits everything, returns the old head when nothing changed, and keeps diffing against the base', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    const first = await workspace.head();
    expect(await workspace.commitAll('nothing')).toBe(first);
    writeFileSync(join(workspace.dir, 'c.txt'), 'c\n');
    workspace.touch();
    const second = await workspace.commitAll('add c');
    expect(second).not.toBe(first);
    expect(gitCmd(workspace.dir, 'log', '-1', '--format=%an <%ae> %s')).toBe('Slipway <slipway@localhost> add c');
    expect(await workspace.diff()).toContain('+++ b/c.txt');
    expect(gitCmd(workspace.dir, 'status', '--porcelain')).toBe('');
  });

  it('gives the same patch, stat and files as separate git diffs, for odd names, binaries and mode changes', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n', 'run.sh': 'echo hi\n', 'old name.txt': 'a longer line that survives a rename\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'a.txt'), 'two\n');
    writeFiles(workspace.dir, { 'caf\u00e9 \u2615.md': 'accents\n', 'sp ace/tab\there.txt': 'x\n' });
    writeFileSync(join(workspace.dir, 'blob.bin'), Buffer.from([0, 1, 2, 255, 0, 3]));
    workspace.touch();
    sh(workspace.dir, 'chmod', '+x', 'run.sh');
    gitCmd(workspace.dir, 'mv', 'old name.txt', 'new name.txt');
    const flags = ['-c', 'core.quotePath=false', 'diff', '--no-ext-diff', '--no-textconv', '--no-color', '-M', workspace.baseCommit];
    // The separate commands, on a copy of the whole tree staged the way the workspace stages it.
    sh(workspace.dir, 'cp', '.git/index', '.git/check-index');
    const staged = { ...process.env, GIT_INDEX_FILE: join(workspace.dir, '.git', 'check-index') };
    const run = (...args: string[]) => execFileSync('git', args, { cwd: workspace.dir, env: staged, encoding: 'utf8' });
    run('add', '-A');
    const patch = run(...flags.slice(0, 3), '--cached', ...flags.slice(3));
    expect(await workspace.diff()).toBe(patch);
    const stat = await workspace.diffStat();
    expect(stat).toBe(run(...flags.slice(0, 3), '--cached', '--stat=200', ...flags.slice(3)));
    expect(stat).toMatch(/blob\.bin\s+\| Bin 0 -> 6 bytes/);
    expect(stat).toContain(' caf\u00e9 \u2615.md ');
    const files = await workspace.changedFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        { path: 'a.txt', status: 'modified' },
        { path: 'run.sh', status: 'modified' },
        { path: 'blob.bin', status: 'added' },
        { path: 'caf\u00e9 \u2615.md', status: 'added' },
        { path: 'sp ace/tab\there.txt', status: 'added' },
        { path: 'new name.txt', status: 'renamed' },
      ]),
    );
    expect(files).toHaveLength(6);
  });

  it('sees a change made after a diff was computed, also one that keeps the file size', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    expect(await workspace.diff()).toBe('');
    expect(await workspace.changedFiles()).toEqual([]);
    writeFileSync(join(workspace.dir, 'a.txt'), 'two\n');
    workspace.touch();
    expect(await workspace.diff()).toContain('+two');
    writeFileSync(join(workspace.dir, 'a.txt'), 'six\n');
    workspace.touch();
    expect(await workspace.diff()).toContain('+six');
    expect(await workspace.diffStat()).toMatch(/a\.txt \| 2 \+-/);
    writeFileSync(join(workspace.dir, 'a.txt'), 'one\n');
    workspace.touch();
    expect(await workspace.diff()).toBe('');
    expect(await workspace.diffStat()).toBe('');
  });

  it('commits only what differs and reports the new head without asking git for it', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'a.txt'), 'two\n');
    workspace.touch();
    const head = await workspace.commitAll('change a');
    expect(head).toBe(gitCmd(workspace.dir, 'rev-parse', 'HEAD'));
    // Changed and changed back: status reports nothing, so nothing is committed.
    writeFileSync(join(workspace.dir, 'a.txt'), 'three\n');
    writeFileSync(join(workspace.dir, 'a.txt'), 'two\n');
    workspace.touch();
    expect(await workspace.commitAll('nothing')).toBe(head);
    // A branch whose ref was packed still resolves (through git).
    gitCmd(workspace.dir, 'pack-refs', '--all');
    writeFileSync(join(workspace.dir, 'b.txt'), 'b\n');
    workspace.touch();
    const next = await workspace.commitAll('add b');
    expect(next).toBe(gitCmd(workspace.dir, 'rev-parse', 'HEAD'));
    expect(gitCmd(workspace.dir, 'rev-parse', 'HEAD~1')).toBe(head);
  });

  it('stages and diffs a tree at rest ahead of its commit, and drops that work when the tree is touched meanwhile', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const { path, calls } = loggingGit();
    const { workspace } = await prepareWorkspace({ repo, workspacesDir, runId: 'r1', slug: 'ahead', path });
    const strays = () => readdirSync(join(workspace.dir, '.git')).filter((n) => n.startsWith('slipway-index-'));

    writeFileSync(join(workspace.dir, 'a.txt'), 'two\n');
    writeFiles(workspace.dir, { 'new.txt': 'new\n' });
    workspace.touch();
    workspace.stageAhead();
    await new Promise((r) => setTimeout(r, STAGE_AHEAD_AFTER_MS + 10)); // the model thinks
    expect(await workspace.diff()).toContain('+two'); // waits for the staging ahead, asks nothing more
    const before = calls().length;
    const head = await workspace.commitAll('change');
    // Only the commit: the tree was staged and diffed ahead.
    expect(calls().slice(before).map((c) => c.split(' ').find((w) => /^[a-z-]+$/.test(w) && !w.startsWith('-')))).toEqual(['commit']);
    expect(gitCmd(workspace.dir, 'show', '--name-only', '--format=', head).split('\n').sort()).toEqual(['a.txt', 'new.txt']);
    expect(gitCmd(workspace.dir, 'status', '--porcelain')).toBe('');
    expect(strays()).toEqual([]);

    // Touched while staging ahead (a tool wrote again): that work is dropped, the commit has the newer tree.
    writeFileSync(join(workspace.dir, 'a.txt'), 'three\n');
    workspace.touch();
    workspace.stageAhead();
    await new Promise((r) => setTimeout(r, STAGE_AHEAD_AFTER_MS + 10));
    writeFileSync(join(workspace.dir, 'b.txt'), 'b\n');
    workspace.touch();
    const next = await workspace.commitAll('more');
    expect(gitCmd(workspace.dir, 'show', '--name-only', '--format=', next).split('\n').sort()).toEqual(['a.txt', 'b.txt']);
    expect(await workspace.diff()).toContain('+three');
    expect(await workspace.diff()).toContain('+++ b/b.txt');
    expect(gitCmd(workspace.dir, 'status', '--porcelain')).toBe('');
    expect(strays()).toEqual([]);

    // A model that answers at once: nothing was staged ahead, the commit stages as it always did.
    writeFileSync(join(workspace.dir, 'c.txt'), 'c\n');
    workspace.touch();
    workspace.stageAhead();
    const quick = calls().length;
    await workspace.commitAll('quick');
    expect(calls().slice(quick).map((c) => c.split(' ').find((w) => /^[a-z-]+$/.test(w) && !w.startsWith('-'))).sort()).toEqual(['add', 'commit', 'diff']);
    await new Promise((r) => setTimeout(r, STAGE_AHEAD_AFTER_MS + 10));
    expect(calls().length - quick).toBe(3); // and nothing starts later

    // The run ends (failed, say) while staging ahead is under way, or before it started: nothing of it stays.
    writeFileSync(join(workspace.dir, 'd.txt'), 'd\n');
    workspace.touch();
    workspace.stageAhead();
    await new Promise((r) => setTimeout(r, STAGE_AHEAD_AFTER_MS + 10));
    await workspace.stopStagingAhead();
    expect(strays()).toEqual([]);
    writeFileSync(join(workspace.dir, 'e.txt'), 'e\n');
    workspace.touch();
    workspace.stageAhead();
    const stopped = calls().length;
    await workspace.stopStagingAhead();
    await new Promise((r) => setTimeout(r, STAGE_AHEAD_AFTER_MS + 10));
    expect(calls().length).toBe(stopped);
    expect(strays()).toEqual([]);
  });

  it('starts no git process to commit or diff again until the tree is touched, and sees every change after', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const logged = loggingGit();
    const calls = () => logged.calls().length;
    const { workspace } = await prepareWorkspace({ repo, workspacesDir, runId: 'r1', slug: 'count', path: logged.path });

    writeFileSync(join(workspace.dir, 'a.txt'), 'two\n');
    writeFiles(workspace.dir, { 'new.txt': 'new\n' });
    workspace.touch();
    let before = calls();
    const head = await workspace.commitAll('change');
    // add -A, then the commit and the diff of what it stages, at once.
    expect(calls() - before).toBe(3);
    before = calls();
    // Just committed and untouched: no process more for the verifier's diff or for shipping (a commit with
    // nothing to commit, the stat).
    const diff = await workspace.diff();
    expect(diff).toContain('+two');
    expect(diff).toContain('+++ b/new.txt');
    expect(calls() - before).toBe(0);
    expect(await workspace.diff()).toBe(diff);
    expect(await workspace.commitAll('nothing')).toBe(head);
    expect(await workspace.diffStat()).toMatch(/new\.txt/);
    expect(calls() - before).toBe(0);
    // The same answers as staging the whole tree, which a touch forces.
    workspace.touch();
    expect(await workspace.diff()).toBe(diff);
    expect(calls() - before).toBe(2); // add -A and the diff
    // A touch that changed nothing (a read-only command): staged, nothing to commit, the head stays.
    workspace.touch();
    expect(await workspace.commitAll('nothing')).toBe(head);
    expect(gitCmd(workspace.dir, 'rev-parse', 'HEAD')).toBe(head);
    // A fresh clone nobody touched: one `status` says there is nothing to commit.
    const { workspace: fresh } = await prepareWorkspace({ repo, workspacesDir, runId: 'r2', slug: 'count', path: logged.path });
    before = calls();
    expect(await fresh.commitAll('nothing')).toBe(fresh.baseCommit);
    expect(calls() - before).toBe(2); // status, and rev-parse for the head
    // A real change after a touch is seen, by the diff and by the commit.
    writeFileSync(join(workspace.dir, 'a.txt'), 'three\n');
    workspace.touch();
    expect(await workspace.diff()).toContain('+three');
    const next = await workspace.commitAll('three');
    expect(next).not.toBe(head);
    expect(gitCmd(workspace.dir, 'status', '--porcelain')).toBe('');
    expect(await workspace.diff()).toContain('+three');
  });

  it("leaves untracked files out of the change, names with gitignore's special characters included", async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n', 'src/pkg/__init__.py': '' });
    const { workspace } = await prepare(repo, workspacesDir);
    writeFiles(workspace.dir, { 'src/pkg.egg-info/PKG-INFO': 'x\n', 'build/lib/x.o': 'x\n', 'we*ird [x].txt': 'x\n', '!bang': 'x\n', '#hash': 'x\n', 'trailing ': 'x\n' });
    workspace.touch();
    const made = await workspace.untracked();
    expect(made.sort()).toEqual(['!bang', '#hash', 'build/', 'src/pkg.egg-info/', 'trailing ', 'we*ird [x].txt'].sort());
    await workspace.exclude(made);
    expect(await workspace.untracked()).toEqual([]);
    expect(await workspace.diff()).toBe('');
    // Only those: a file made afterwards, even beside them, is part of the change (a folder left out is left
    // out whole: build/ here).
    writeFiles(workspace.dir, { 'src/real.py': 'x = 1\n', 'weird.txt': 'y\n', 'build/lib/y.o': 'y\n' });
    workspace.touch();
    expect((await workspace.untracked()).sort()).toEqual(['src/real.py', 'weird.txt']);
    const head = await workspace.commitAll('add the real files');
    expect(gitCmd(workspace.dir, 'show', '--name-only', '--format=', head).split('\n').sort()).toEqual(['src/real.py', 'weird.txt']);
  });

  it('reads files at the base commit', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n', 'dir/b.txt': 'bee\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'a.txt'), 'changed\n');
    await workspace.commitAll('change a');
    expect(await workspace.readAtBase('a.txt')).toBe('one\n');
    expect(await workspace.readAtBase('./dir/b.txt')).toBe('bee\n');
    expect(await workspace.readAtBase('missing.txt')).toBeNull();
    await expect(workspace.readAtBase('../outside')).rejects.toThrow(WorkspaceError);
  });

  it('checks out the base with chosen files overlaid from the current tree', async () => {
    const { repo, workspacesDir } = fixture({ 'src.txt': 'base source\n', 'test_a.txt': 'base test\n', 'old_test.txt': 'x\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'src.txt'), 'new source\n');
    writeFileSync(join(workspace.dir, 'test_a.txt'), 'new test\n');
    writeFiles(workspace.dir, { 'tests/test_new.txt': 'brand new\n' });
    gitCmd(workspace.dir, 'rm', '-q', 'old_test.txt');
    mkdirSync(join(workspace.dir, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(workspace.dir, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
    writeFileSync(join(workspace.dir, '.gitignore'), 'node_modules/\n');

    const base = await workspace.checkoutBaseWith(['test_a.txt', 'tests/test_new.txt', 'old_test.txt']);
    expect(base.dir).not.toBe(workspace.dir);
    expect(readFileSync(join(base.dir, 'src.txt'), 'utf8')).toBe('base source\n');
    expect(readFileSync(join(base.dir, 'test_a.txt'), 'utf8')).toBe('new test\n');
    expect(readFileSync(join(base.dir, 'tests', 'test_new.txt'), 'utf8')).toBe('brand new\n');
    expect(existsSync(join(base.dir, 'old_test.txt'))).toBe(false);
    expect(readFileSync(join(base.dir, 'node_modules', 'dep', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect(gitCmd(base.dir, 'rev-parse', 'HEAD')).toBe(workspace.baseCommit);
    // The clone is unchanged.
    expect(readFileSync(join(workspace.dir, 'src.txt'), 'utf8')).toBe('new source\n');
    await base.dispose();
    expect(existsSync(base.dir)).toBe(false);
    expect(gitCmd(workspace.dir, 'worktree', 'list')).not.toContain(base.dir);
  });

  it('writes given contents into the base checkout, never through a link out of it', async () => {
    const outside = tempDir('slipway-outside-');
    cleanup.push(outside);
    const { repo, workspacesDir } = fixture({ 'src/lib.rs': 'base code\n', 'a.txt': 'a\n' });
    symlinkSync(outside, join(repo, 'linked'));
    gitCmd(repo, 'add', '-A');
    gitCmd(repo, 'commit', '-qm', 'a link to a folder outside');
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'src', 'lib.rs'), 'new code\nnew tests\n');
    const base = await workspace.checkoutBaseWith([], { 'src/lib.rs': 'base code\nnew tests\n' });
    expect(readFileSync(join(base.dir, 'src', 'lib.rs'), 'utf8')).toBe('base code\nnew tests\n');
    expect(readFileSync(join(workspace.dir, 'src', 'lib.rs'), 'utf8')).toBe('new code\nnew tests\n');
    await base.dispose();
    await expect(workspace.checkoutBaseWith([], { 'linked/escape.rs': 'x' })).rejects.toMatchObject({ code: 'unsafe_path' });
    await expect(workspace.checkoutBaseWith([], { '../escape.rs': 'x' })).rejects.toMatchObject({ code: 'unsafe_path' });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('never follows a symlinked folder out of the tree when overlaying files', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'a\n' });
    const outside = tempDir('slipway-outside-');
    cleanup.push(outside);
    writeFileSync(join(outside, 'secret.txt'), 'host secret\n');
    const { workspace } = await prepare(repo, workspacesDir);
    // What a sandboxed command could leave behind: a folder that is a link to somewhere on the host.
    symlinkSync(outside, join(workspace.dir, 'tests'));
    await expect(workspace.checkoutBaseWith(['tests/secret.txt'])).rejects.toMatchObject({ code: 'unsafe_path' });
    // A link as the file itself is copied as a link, never read.
    symlinkSync(join(outside, 'secret.txt'), join(workspace.dir, 'leak.txt'));
    const base = await workspace.checkoutBaseWith(['leak.txt']);
    expect(readlinkSync(join(base.dir, 'leak.txt'))).toBe(join(outside, 'secret.txt'));
    await base.dispose();
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('host secret\n');
  });

  it('publishes the run branch into the user repository without touching HEAD, tree, index or base', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    writeFileSync(join(repo, 'dirty.txt'), 'user work in progress\n');
    const before = repoState(repo);
    const mainBefore = gitCmd(repo, 'rev-parse', 'main');
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'a.txt'), 'agent change\n');
    const head = await workspace.commitAll('agent change');
    await workspace.publishBranch();
    expect(gitCmd(repo, 'rev-parse', workspace.branch)).toBe(head);
    expect(gitCmd(repo, 'rev-parse', 'main')).toBe(mainBefore);
    expect(gitCmd(repo, 'symbolic-ref', 'HEAD')).toBe(before.head);
    expect(gitCmd(repo, 'status', '--porcelain')).toBe(before.status);
    expect(gitCmd(repo, 'ls-files', '-s')).toBe(before.index);
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(repo, '.git', 'FETCH_HEAD'))).toBe(false);
    // Publishing again after more work moves the branch on.
    writeFileSync(join(workspace.dir, 'a.txt'), 'agent change 2\n');
    const head2 = await workspace.commitAll('more');
    await workspace.publishBranch();
    expect(gitCmd(repo, 'rev-parse', workspace.branch)).toBe(head2);
  });

  it("says so, and what to do, when the run's branch is checked out in the user's repository", async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    writeFileSync(join(workspace.dir, 'a.txt'), 'agent change\n');
    workspace.touch();
    const head = await workspace.commitAll('agent change');
    await workspace.publishBranch();
    // A person looks at the work (after an escalation, say) in a worktree of their repository.
    const look = tempDir('slipway-look-');
    cleanup.push(look);
    gitCmd(repo, 'worktree', 'add', '--quiet', join(look, 'wt'), workspace.branch);
    writeFileSync(join(workspace.dir, 'a.txt'), 'agent change 2\n');
    workspace.touch();
    await workspace.commitAll('more');
    const err = await rejection(workspace.publishBranch());
    expect(err.code).toBe('branch_checked_out');
    expect(err.message).toContain(`${workspace.branch} is checked out in ${join(look, 'wt')}`);
    expect(err.message).toContain(workspace.dir);
    expect(err.hint).toBe('Switch that work tree to another branch (git switch main), then go on with: slipway resume r1');
    expect(gitCmd(repo, 'rev-parse', workspace.branch)).toBe(head);
  });

  it('disposes of the clone folder, and leaves the run its cache (a clone made ahead and given back)', async () => {
    const { repo, workspacesDir } = fixture();
    const { workspace } = await prepare(repo, workspacesDir);
    await workspace.checkoutBaseWith([]);
    writeFiles(join(workspacesDir, 'r1'), { 'cache/npm/index': 'x\n' });
    await workspace.dispose();
    expect(readdirSync(join(workspacesDir, 'r1'))).toEqual(['cache']);
    expect(existsSync(repo)).toBe(true);
  });

  it('disposes of a finished run\'s folder, its cache included, in the background: moved aside at once, then deleted by a process of its own', async () => {
    const { repo, workspacesDir } = fixture({ 'a.txt': 'one\n' });
    const { workspace } = await prepare(repo, workspacesDir);
    await workspace.checkoutBaseWith([]);
    writeFiles(workspace.dir, { 'deep/er/file.txt': 'x\n' });
    writeFiles(join(workspacesDir, 'r1'), { 'cache/npm/_cacache/index': 'x\n' });
    writeFiles(join(workspacesDir, '.trash'), { 'r0-repo-dead/left.txt': 'an earlier removal was killed\n' });
    await workspace.dispose({ runOver: true });
    expect(existsSync(join(workspacesDir, 'r1'))).toBe(false);
    for (let i = 0; i < 100 && existsSync(join(workspacesDir, '.trash')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(workspacesDir)).toEqual([]);
    expect(gitCmd(repo, 'status', '--porcelain')).toBe('');
  });

  it('hands a clone started ahead to the first matching call, and removes it when no run takes it', async () => {
    const { repo, workspacesDir } = fixture();
    const opts = { repo, workspacesDir, runId: 'r1', slug: 'fix the thing' };
    const ahead = prepareAhead(opts);
    const { workspace } = await ahead.prepare({ ...opts, slug: 'Fix the thing' });
    expect(workspace.dir).toBe(join(workspacesDir, 'r1', 'repo'));
    await ahead.abandon(); // taken: left alone
    expect(existsSync(workspace.dir)).toBe(true);
    // Only the first call gets it; a second one clones anew and finds the folder taken.
    expect((await rejection(ahead.prepare(opts))).code).toBe('workspace_exists');

    const unused = prepareAhead({ ...opts, runId: 'r2' });
    await unused.abandon();
    expect(existsSync(join(workspacesDir, 'r2'))).toBe(false);

    // Asked with another author: the early clone goes, and the clone is made again with that author.
    const early = prepareAhead({ ...opts, runId: 'r3' });
    const author = { name: 'Release Bot', email: 'bot@example.test' };
    const { prepare: handedOn } = early; // as run-command hands it to runGoal: a function value
    const { workspace: again } = await handedOn({ ...opts, runId: 'r3', author });
    expect(sh(again.dir, 'git', 'config', 'user.name').trim()).toBe('Release Bot');
  });
});

describe('slugify', () => {
  it('makes short branch-safe slugs', () => {
    expect(slugify('Fix the Login bug!')).toBe('fix-the-login-bug');
    expect(slugify('???')).toBe('task');
    expect(slugify('a'.repeat(80))).toHaveLength(40);
  });
});
