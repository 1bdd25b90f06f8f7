/**
 * Merging a pull request's branch into its base, host-side: never by the agent. The merge is made and tested
 * in a fresh temporary clone against the base as it is now; only then is the user's base branch moved, by a
 * fast-forward to the tested commit (`git merge --ff-only` in the user's tree when the base is checked out
 * there, else `git update-ref` guarded by the old value).
 */
import type { CacheMounts, DependencyCache } from './dep-cache.js';
import type { InstallEgress } from './install-egress.js';
import { mkdir, rm } from 'node:fs/promises';
import { commandHeadline, type CommandRunner, type TestCounts } from '../protocol/index.js';
import { git, gitLine } from './git.js';
import { detectTestPlan, type ConfiguredTests } from './test-detect.js';
import { runTests } from './test-run.js';

export interface MergeRequest {
  /** The user's repository. */
  repo: string;
  base: string;
  /** The commit to merge (the pull request's head). */
  head: string;
  /** Shown in the merge commit's message. */
  title: string;
  author: { name: string; email: string };
  /** An empty folder to make the temporary clone in; removed afterwards. */
  workDir: string;
  tests: ConfiguredTests & { timeoutSeconds: number };
  /** A runner whose only writable folder is `dir` (the temporary clone); `network` or the proxy for the install. */
  makeRunner(dir: string, network: boolean, egressProxySocket?: string, dependencyCache?: CacheMounts | null): CommandRunner;
  /** The registry-only proxy for the install; without it the install gets the full network. */
  startEgress?: (repoDir: string) => Promise<InstallEgress>;
  /** The dependency cache shared between runs: writable for the install, read-only for the tests. */
  dependencyCache?: DependencyCache;
  signal?: AbortSignal;
}

export type MergeResult =
  | { ok: true; commit: string; method: 'fast-forward' | 'merge commit'; previous: string; tests: string }
  | { ok: false; reason: string };

export async function mergeIntoBase(req: MergeRequest): Promise<MergeResult> {
  const opts = { cwd: req.repo, ...(req.signal ? { signal: req.signal } : {}) };
  const baseRef = `refs/heads/${req.base}`;
  const previous = await git(['rev-parse', '--verify', '--quiet', `${baseRef}^{commit}`], { ...opts, allowFailure: true });
  if (previous.exitCode !== 0) return { ok: false, reason: `the base branch ${req.base} does not exist in ${req.repo}` };
  const old = previous.stdout.trim();
  const dirty = await dirtyCheckout(req.repo, baseRef);
  if (dirty) return { ok: false, reason: dirty };

  await rm(req.workDir, { recursive: true, force: true });
  await mkdir(req.workDir, { recursive: true });
  try {
    const dir = req.workDir;
    const inClone = { cwd: dir, ...(req.signal ? { signal: req.signal } : {}) };
    await git(['clone', '--no-hardlinks', '--quiet', '--no-checkout', req.repo, dir], opts);
    await git(['checkout', '--quiet', '-B', 'slipway-merge', old], inClone);
    const ancestor = await git(['merge-base', '--is-ancestor', old, req.head], { ...inClone, allowFailure: true });
    let method: 'fast-forward' | 'merge commit';
    if (ancestor.exitCode === 0) {
      method = 'fast-forward';
      await git(['merge', '--ff-only', '--quiet', req.head], inClone);
    } else {
      method = 'merge commit';
      const { name, email } = req.author;
      const who = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
      const merged = await git(['merge', '--no-ff', '--no-edit', '-m', `Merge ${req.title}`, req.head], {
        ...inClone,
        env: who,
        allowFailure: true,
      });
      if (merged.exitCode !== 0) {
        const conflicts = (await gitLine(['diff', '--name-only', '--diff-filter=U'], inClone)).split('\n').filter(Boolean);
        return {
          ok: false,
          reason: conflicts.length
            ? `${req.base} moved on (now ${old.slice(0, 10)}) and the merge conflicts in ${conflicts.join(', ')}`
            : `the merge into ${req.base} failed: ${(merged.stderr || merged.stdout).trim().slice(0, 300)}`,
        };
      }
    }
    const commit = await gitLine(['rev-parse', 'HEAD'], inClone);

    const tested = await testMerge(dir, req);
    if (!tested.ok) return tested;

    // Bring the tested commit into the user's repository, then move the base only if it has not moved since.
    if (method === 'merge commit') await git(['fetch', '--quiet', '--no-tags', dir, 'refs/heads/slipway-merge'], opts);
    const dirtyNow = await dirtyCheckout(req.repo, baseRef);
    if (dirtyNow) return { ok: false, reason: dirtyNow };
    if (await checkedOut(req.repo, baseRef)) {
      const now = await gitLine(['rev-parse', baseRef], opts);
      if (now !== old) return { ok: false, reason: `${req.base} moved while the merge was tested (${old.slice(0, 10)} -> ${now.slice(0, 10)}); ask again` };
      const ff = await git(['merge', '--ff-only', '--quiet', commit], { ...opts, allowFailure: true });
      if (ff.exitCode !== 0) return { ok: false, reason: `could not fast-forward ${req.base} in ${req.repo}: ${ff.stderr.trim().slice(0, 300)}` };
    } else {
      const moved = await git(['update-ref', '-m', `slipway: merge ${req.title}`, baseRef, commit, old], { ...opts, allowFailure: true });
      if (moved.exitCode !== 0) return { ok: false, reason: `${req.base} moved while the merge was tested; ask again (${moved.stderr.trim().slice(0, 200)})` };
    }
    return { ok: true, commit, method, previous: old, tests: tested.summary };
  } finally {
    await rm(req.workDir, { recursive: true, force: true });
  }
}

/** The repository's tests on the merge result, in the sandbox; a run without a test command passes with a note. */
async function testMerge(dir: string, req: MergeRequest): Promise<{ ok: true; summary: string } | { ok: false; reason: string }> {
  const plan = await detectTestPlan(dir, req.tests);
  if (!plan) return { ok: true, summary: 'no test command was found or configured, so no tests ran' };
  const timeoutMs = req.tests.timeoutSeconds * 1000;
  if (plan.install) {
    const lease = (await req.dependencyCache?.lease(dir, { proxied: Boolean(req.startEgress), waitMs: timeoutMs, ...(req.signal ? { signal: req.signal } : {}) })) ?? null;
    const egress = req.startEgress ? await req.startEgress(dir).catch(async (err: unknown) => { await lease?.release(); throw err; }) : null;
    const installed = await req
      .makeRunner(dir, !egress, egress?.socketPath, lease?.mounts ?? null)
      .run(plan.install, { cwd: dir, timeoutMs, ...(req.signal ? { signal: req.signal } : {}) })
      .finally(() => Promise.all([egress?.close(), lease?.release()]));
    if (installed.exitCode !== 0) {
      return { ok: false, reason: `installing dependencies (\`${commandHeadline(plan.install)}\`) on the merge result failed (exit ${installed.exitCode})` };
    }
  }
  const result = await runTests(req.makeRunner(dir, false, undefined, req.dependencyCache?.readOnly(dir) ?? null), dir, plan, { timeoutMs, ...(req.signal ? { signal: req.signal } : {}) });
  const counts = describeCounts(result.counts);
  if (result.exitCode !== 0 || (result.counts?.failed ?? 0) > 0) {
    const failing = result.tests.filter((t) => t.status === 'failed').map((t) => t.id).slice(0, 5);
    return {
      ok: false,
      reason: `the tests fail on the merge result (\`${plan.command}\`: ${counts}${failing.length ? `; failing: ${failing.join(', ')}` : ''}${result.reason ? `; ${result.reason}` : ''})`,
    };
  }
  return { ok: true, summary: `\`${plan.command}\` on the merge result: ${counts}` };
}

function describeCounts(counts: TestCounts | null): string {
  return counts ? `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped` : 'output not parsed';
}

async function checkedOut(repo: string, baseRef: string): Promise<boolean> {
  const head = await git(['symbolic-ref', '--quiet', 'HEAD'], { cwd: repo, allowFailure: true });
  return head.exitCode === 0 && head.stdout.trim() === baseRef;
}

/** Why the user's tree blocks the merge: the base is checked out there with uncommitted changes. */
async function dirtyCheckout(repo: string, baseRef: string): Promise<string | null> {
  if (!(await checkedOut(repo, baseRef))) return null;
  const status = await gitLine(['status', '--porcelain', '--untracked-files=no'], { cwd: repo });
  if (!status) return null;
  const files = status.split('\n').map((l) => l.slice(3)).slice(0, 5);
  return `${baseRef.slice('refs/heads/'.length)} is checked out in ${repo} with uncommitted changes (${files.join(', ')}); commit or stash them first`;
}
