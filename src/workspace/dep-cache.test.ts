import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../protocol/workspace.js';
import { cacheDaysFromEnv, createDependencyCache, dependencyKeys, readingCacheRunner, type CacheMounts, type DependencyCache } from './dep-cache.js';
import { mavenSettings } from './maven-settings.js';
import { createSandboxRunner } from './sandbox.js';
import { removeDir, tempDir, writeFiles } from './test-helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function project(files: Record<string, string>): string {
  const dir = tempDir('slipway-depkey-');
  dirs.push(dir);
  writeFiles(dir, files);
  return dir;
}

describe('dependencyKeys', () => {
  it('keys each ecosystem by its lockfiles; the same lockfile gives the same key in any repository', () => {
    const a = project({ 'package-lock.json': '{"v":1}', 'go.sum': 'x h1:abc\n', 'requirements-dev.txt': 'pytest\n', 'README.md': '' });
    const b = project({ 'package-lock.json': '{"v":1}', 'src/other.js': '' });
    const keysA = dependencyKeys(a);
    expect(keysA.map((k) => [k.ecosystem, k.files])).toEqual([
      ['node', ['package-lock.json']],
      ['python', ['requirements-dev.txt']],
      ['go', ['go.sum']],
    ]);
    expect(dependencyKeys(b)[0]?.hash).toBe(keysA[0]?.hash);
    expect(keysA[0]?.hash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('changes with the lockfile contents, and is not shared between ecosystems', () => {
    const one = dependencyKeys(project({ 'Cargo.lock': 'a' }))[0]!;
    const two = dependencyKeys(project({ 'Cargo.lock': 'b' }))[0]!;
    const go = dependencyKeys(project({ 'go.sum': 'a' }))[0]!;
    expect(one.hash).not.toBe(two.hash);
    expect(go.hash).not.toBe(one.hash);
  });

  it('counts module POMs for Maven, and gives no key (no sharing) without a lockfile', () => {
    expect(dependencyKeys(project({ 'pom.xml': '<project/>', 'core/pom.xml': '<project/>', 'core/src/A.java': '' }))[0]?.files).toEqual(['pom.xml', 'core/pom.xml']);
    expect(dependencyKeys(project({ 'package.json': '{}', 'go.mod': 'module x\n', 'setup.py': '' }))).toEqual([]);
  });
});

describe('the shared dependency cache', () => {
  let root = '';
  let cache: DependencyCache;
  beforeAll(() => {
    root = tempDir('slipway-depcache-');
    dirs.push(root);
    cache = createDependencyCache({ root });
  });

  it('leases a key writable for an install, then shows it read-only', async () => {
    const repo = project({ 'go.sum': 'lease-test\n' });
    expect(cache.readOnly(repo)).toBeNull();
    const lease = await cache.lease(repo, { proxied: true, waitMs: 1000 });
    const dir = join(root, 'go', dependencyKeys(repo)[0]!.hash);
    expect(lease?.keys).toMatchObject([{ ecosystem: 'go', dir, reused: false }]);
    expect(lease?.mounts).toEqual({ mode: 'writable', dirs: [dir], env: { GOMODCACHE: join(dir, 'mod'), GOFLAGS: '-modcacherw' }, homeFiles: [], bin: [] });
    mkdirSync(join(dir, 'mod'));
    await lease?.release();
    expect(cache.readOnly(repo)).toEqual({ mode: 'read-only', dirs: [dir], env: { GOMODCACHE: join(dir, 'mod'), GOPROXY: 'off' }, homeFiles: [], bin: [] });
    const again = await cache.lease(project({ 'go.sum': 'lease-test\n' }), { proxied: true, waitMs: 1000 });
    expect(again?.keys[0]?.reused).toBe(true);
    await again?.release();
    expect(await cache.lease(project({ 'package.json': '{}' }), { proxied: true, waitMs: 1000 })).toBeNull();
  });

  it('a runner made before the install sees the key it filled, from its next command on', async () => {
    const repo = project({ 'go.sum': 'runner-before-install\n' });
    const seen: Array<CacheMounts | null> = [];
    const made: Array<CacheMounts | null> = [];
    const runner = readingCacheRunner(cache, repo, (mounts): CommandRunner => {
      made.push(mounts);
      return { kind: 'bubblewrap', run: async () => (seen.push(mounts), { exitCode: 0, signal: null, output: '', timedOut: false, aborted: false, durationMs: 0, truncated: false }) };
    });
    await runner.run('go test ./...', { cwd: repo, timeoutMs: 1000 });
    const lease = await cache.lease(repo, { proxied: true, waitMs: 1000 });
    await lease?.release();
    await runner.run('go test ./...', { cwd: repo, timeoutMs: 1000 });
    await runner.run('go test ./...', { cwd: repo, timeoutMs: 1000 });
    const dir = join(root, 'go', dependencyKeys(repo)[0]!.hash);
    expect(seen).toEqual([null, cache.readOnly(repo), cache.readOnly(repo)]);
    expect(seen[1]).toMatchObject({ mode: 'read-only', dirs: [dir] });
    expect(made).toHaveLength(2); // once found, the runner is kept
  });

  it('gives Maven a settings.xml: the proxy and the cache for an install, offline for tests', async () => {
    const repo = project({ 'pom.xml': '<project/>' });
    const lease = await cache.lease(repo, { proxied: true, waitMs: 1000 });
    await lease?.release();
    const installSettings = readFileSync(lease!.mounts!.homeFiles[0]!.source, 'utf8');
    expect(lease?.mounts?.homeFiles[0]?.target).toBe('.m2/settings.xml');
    expect(installSettings).toContain(`<localRepository>${join(lease!.keys[0]!.dir, 'repository')}</localRepository>`);
    expect(installSettings).toContain('<offline>false</offline>');
    expect(installSettings).toContain('<host>127.0.0.1</host>\n      <port>3128</port>');
    const testSettings = readFileSync(cache.readOnly(repo)!.homeFiles[0]!.source, 'utf8');
    expect(testSettings).toContain('<offline>true</offline>');
    expect(testSettings).not.toContain('<proxies>');
    expect(mavenSettings({ localRepository: '/a&b', offline: true })).toContain('<localRepository>/a&amp;b</localRepository>');
  });

  it('lets concurrent installs of one key take turns, and one that waits too long goes without', async () => {
    const repo = project({ 'Cargo.lock': 'turns\n' });
    const first = await cache.lease(repo, { proxied: false, waitMs: 1000 });
    expect(first?.mounts).not.toBeNull();
    const late = await cache.lease(repo, { proxied: false, waitMs: 300 });
    expect(late?.mounts).toBeNull();
    let secondHas = false;
    const second = cache.lease(repo, { proxied: false, waitMs: 5000 }).then((l) => ((secondHas = true), l));
    await new Promise((r) => setTimeout(r, 400));
    expect(secondHas).toBe(false);
    await first?.release();
    const got = await second;
    expect(got?.mounts?.mode).toBe('writable');
    await got?.release();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const repo = project({ 'uv.lock': 'stale\n' });
    const key = dependencyKeys(repo)[0]!;
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => resolve(child.pid!));
    });
    mkdirSync(join(root, 'python'), { recursive: true });
    writeFileSync(join(root, 'python', `${key.hash}.lock`), String(dead));
    const lease = await cache.lease(repo, { proxied: false, waitMs: 300 });
    expect(lease?.mounts?.mode).toBe('writable');
    await lease?.release();
    expect(existsSync(join(root, 'python', `${key.hash}.lock`))).toBe(false);
  });
});

describe('pruning the dependency cache', () => {
  const DAY = 24 * 60 * 60 * 1000;
  /** A key filled by an install, then last used `daysAgo` days ago. */
  async function filledKey(cache: DependencyCache, root: string, lockfile: string, daysAgo: number): Promise<{ repo: string; dir: string }> {
    const repo = project({ 'go.sum': lockfile });
    const lease = await cache.lease(repo, { proxied: false, waitMs: 1000 });
    writeFiles(lease!.keys[0]!.dir, { 'mod/cache/x.zip': 'bytes' });
    await lease!.release();
    const dir = join(root, 'go', dependencyKeys(repo)[0]!.hash);
    const when = new Date(Date.now() - daysAgo * DAY);
    utimesSync(`${dir}.used`, when, when);
    utimesSync(dir, when, when);
    return { repo, dir };
  }

  it('removes the keys unused for longer than the limit, keeps the others and any an install holds', async () => {
    const root = tempDir('slipway-depprune-');
    dirs.push(root);
    const cache = createDependencyCache({ root, maxAgeDays: 30 });
    const old = await filledKey(cache, root, 'old\n', 45);
    const recent = await filledKey(cache, root, 'recent\n', 3);
    const held = await filledKey(cache, root, 'held\n', 60);
    // Used read-only by a run's commands today: kept although an install filled it long ago.
    const read = await filledKey(cache, root, 'read\n', 90);
    expect(cache.readOnly(read.repo)?.dirs).toEqual([read.dir]);
    const installing = await cache.lease(held.repo, { proxied: false, waitMs: 1000 });
    try {
      expect(await cache.prune()).toEqual([`go/${dependencyKeys(old.repo)[0]!.hash}`]);
    } finally {
      await installing?.release();
    }
    expect(existsSync(old.dir)).toBe(false);
    expect(readdirSync(join(root, 'go')).filter((n) => n.startsWith(basename(old.dir)))).toEqual([]);
    for (const kept of [recent, held, read]) expect(existsSync(join(kept.dir, 'mod', 'cache', 'x.zip'))).toBe(true);
    // The removed key is made afresh by the next install that needs it.
    const again = await cache.lease(old.repo, { proxied: false, waitMs: 1000 });
    expect(again?.keys[0]).toMatchObject({ dir: old.dir, reused: false });
    await again?.release();
  });

  it('prunes on a lease at most once a day, and never with a limit of 0', async () => {
    const root = tempDir('slipway-depprune-');
    dirs.push(root);
    const cache = createDependencyCache({ root, maxAgeDays: 30 });
    const first = await filledKey(cache, root, 'first\n', 40); // its lease was the day's first: pruned nothing yet
    const second = await filledKey(cache, root, 'second\n', 40);
    expect(existsSync(first.dir) && existsSync(second.dir)).toBe(true); // the day's prune ran before they were old
    await cache.lease(project({ 'go.sum': 'third\n' }), { proxied: false, waitMs: 1000 }).then((l) => l?.release());
    expect(existsSync(first.dir)).toBe(true); // not again the same day
    const lastWeek = new Date(Date.now() - 2 * DAY);
    utimesSync(join(root, '.pruned'), lastWeek, lastWeek);
    await cache.lease(project({ 'go.sum': 'fourth\n' }), { proxied: false, waitMs: 1000 }).then((l) => l?.release());
    expect(existsSync(first.dir) || existsSync(second.dir)).toBe(false);
    // A limit of 0 keeps everything.
    const keepAll = createDependencyCache({ root, maxAgeDays: 0 });
    const ancient = await filledKey(keepAll, root, 'ancient\n', 400);
    expect(await keepAll.prune()).toEqual([]);
    expect(existsSync(ancient.dir)).toBe(true);
    expect(cacheDaysFromEnv({ SLIPWAY_DEPENDENCY_CACHE_DAYS: '7' })).toBe(7);
    expect(cacheDaysFromEnv({ SLIPWAY_DEPENDENCY_CACHE_DAYS: 'soon' })).toBe(30);
    expect(cacheDaysFromEnv({})).toBe(30);
  });
});

describe('the dependency cache in the sandbox', () => {
  let root = '';
  let home = '';
  let cache: DependencyCache;
  beforeAll(() => {
    root = tempDir('slipway-depcache-sb-');
    dirs.push(root);
    home = join(root, 'home');
    cache = createDependencyCache({ root: join(root, 'deps') });
  });

  it('an install writes only its own key; tests and commands read it and cannot write it', async () => {
    const other = project({ 'go.sum': 'other repository\n' });
    const otherLease = await cache.lease(other, { proxied: false, waitMs: 1000 });
    await otherLease?.release();
    const otherDir = otherLease!.keys[0]!.dir;

    const repo = project({ 'go.sum': 'this repository\n' });
    const lease = await cache.lease(repo, { proxied: false, waitMs: 1000 });
    const installer = createSandboxRunner({ writableDirs: [repo], home, env: process.env, dependencyCache: lease!.mounts });
    const install = await installer.run(
      `mkdir -p "$GOMODCACHE" && echo cached > "$GOMODCACHE/m" && cat "$GOMODCACHE/m"; ls ${otherDir} 2>&1; echo x > ${otherDir}/poison 2>&1; true`,
      { cwd: repo, timeoutMs: 10_000 },
    );
    await lease?.release();
    expect(install.output).toContain('cached');
    expect(install.output).toMatch(/No such file or directory/);
    expect(existsSync(join(otherDir, 'poison'))).toBe(false);

    const tester = createSandboxRunner({ writableDirs: [repo], home, env: process.env, dependencyCache: cache.readOnly(repo) });
    const test = await tester.run('cat "$GOMODCACHE/m"; echo poisoned > "$GOMODCACHE/m" 2>&1; touch "$GOMODCACHE/new" 2>&1; echo "proxy=$GOPROXY"', { cwd: repo, timeoutMs: 10_000 });
    expect(test.output).toContain('cached');
    expect(test.output).toMatch(/Read-only file system/);
    expect(test.output).toContain('proxy=off');
    expect(readFileSync(join(lease!.keys[0]!.dir, 'mod', 'm'), 'utf8')).toBe('cached\n');
  });

  it("puts Maven's settings.xml in the private home, where Maven looks for it", async () => {
    const repo = project({ 'pom.xml': '<project/>' });
    const runner = createSandboxRunner({ writableDirs: [repo], home, env: process.env, dependencyCache: cache.readOnly(repo) ?? (await leaseAndRelease(cache, repo)) });
    const r = await runner.run('grep -c offline "$HOME/.m2/settings.xml"; echo "opts=$MAVEN_OPTS"', { cwd: repo, timeoutMs: 10_000 });
    expect(r.output).toContain('1\n');
    expect(r.output).toContain(`opts=-Duser.home=${home}`);
  });
});

async function leaseAndRelease(cache: DependencyCache, repo: string) {
  const lease = await cache.lease(repo, { proxied: false, waitMs: 1000 });
  await lease?.release();
  return cache.readOnly(repo);
}
