/**
 * The dependency cache shared between runs: one folder per ecosystem and lockfile hash under a root in
 * SLIPWAY_HOME. An install gets its own keys' folders writable (and nothing else of the cache); test runs and
 * the agent's commands get them read-only. A repository can therefore only write to the cache of its own
 * lockfile hash, and only while installing. Concurrent installs of one key take turns through a lock file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../protocol/workspace.js';
import { acquireLock } from './lock-file.js';
import { mavenSettings } from './maven-settings.js';

export type Ecosystem = 'node' | 'python' | 'go' | 'cargo' | 'maven' | 'gradle';

/** One ecosystem's cache key in a repository: the hash of its lockfiles. */
export interface CacheKey {
  ecosystem: Ecosystem;
  /** Hex sha256 (first 32 digits) of the ecosystem, a format version and the lockfiles' names and contents. */
  hash: string;
  /** The lockfiles hashed, relative to the repository. */
  files: string[];
}

/** What the sandbox mounts for the dependency cache (see SandboxRunnerOptions.dependencyCache). */
export interface CacheMounts {
  mode: 'writable' | 'read-only';
  /** Host folders bound at the same path: read-write for an install, read-only otherwise. */
  dirs: string[];
  /** Variables that point the package managers at those folders. */
  env: Record<string, string>;
  /** Host files bound read-only at a path relative to the sandbox's private home (Maven's settings.xml). */
  homeFiles: Array<{ source: string; target: string }>;
  /**
   * Folders of tools an install fetched (a pnpm or yarn npm got: see withPackageManager), first on the sandbox's
   * PATH. Inside the key's folder, so only an install can write them: a command cannot plant a program there
   * that the test runs (the proof's included) would then start.
   */
  bin: string[];
}

export interface CacheLease {
  /** null: another install of the same key held it past the wait, so this one goes without the shared cache. */
  mounts: CacheMounts | null;
  keys: Array<CacheKey & { dir: string; reused: boolean }>;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** The install reaches the registries through the sandbox's egress proxy (Maven needs to be told). */
  proxied: boolean;
  /** How long to wait for another install of the same key; then the install goes without the shared cache. */
  waitMs: number;
  signal?: AbortSignal;
}

export interface DependencyCache {
  readonly root: string;
  /** The repository's keys whose folders exist, read-only; null when there are none. */
  readOnly(repoDir: string): CacheMounts | null;
  /** Takes the repository's keys for one install (creating their folders); null when it has no lockfile. */
  lease(repoDir: string, opts: LeaseOptions): Promise<CacheLease | null>;
  /**
   * Removes the keys no install or command has used for `maxAgeDays`, except those an install holds; returns them
   * (`ecosystem/hash`). A lease runs it by itself, at most once a day.
   */
  prune(now?: number): Promise<string[]>;
}

export interface DependencyCacheOptions {
  root: string;
  /** Keys unused for this many days are removed (default 30, or SLIPWAY_DEPENDENCY_CACHE_DAYS); 0 keeps them all. */
  maxAgeDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_CACHE_DAYS = 30;

const FORMAT = 'slipway-dep-cache-v1';
/** The in-sandbox egress endpoint (sandbox.ts forwards 127.0.0.1:3128 to the host's proxy). */
export const SANDBOX_PROXY = { host: '127.0.0.1', port: 3128 };

/** Lockfiles per ecosystem, in the repository's root; any of them present makes a key. */
const LOCKFILES: Record<Ecosystem, { names: string[]; patterns?: RegExp[] }> = {
  node: { names: ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'] },
  python: { names: ['poetry.lock', 'uv.lock', 'Pipfile.lock', 'pdm.lock'], patterns: [/^requirements[\w.-]*\.txt$/] },
  go: { names: ['go.sum'] },
  cargo: { names: ['Cargo.lock'] },
  // Maven has no lockfile: the POMs pin the versions (a module's pom.xml one level down counts too).
  maven: { names: ['pom.xml'] },
  gradle: { names: ['gradle.lockfile', 'settings.gradle', 'settings.gradle.kts', 'build.gradle', 'build.gradle.kts', 'gradle/libs.versions.toml'] },
};

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function lockfilesOf(repoDir: string, ecosystem: Ecosystem): string[] {
  const spec = LOCKFILES[ecosystem];
  let top: string[] = [];
  try {
    top = readdirSync(repoDir).sort();
  } catch {
    return [];
  }
  const files = spec.names.filter((n) => isFile(join(repoDir, n)));
  for (const n of top) if (spec.patterns?.some((p) => p.test(n)) && isFile(join(repoDir, n))) files.push(n);
  if (ecosystem === 'maven' && files.length) {
    for (const sub of top) if (!sub.startsWith('.') && isFile(join(repoDir, sub, 'pom.xml'))) files.push(`${sub}/pom.xml`);
  }
  return files;
}

/** The repository's cache keys, one per ecosystem that has a lockfile. No lockfile: no key, so no sharing. */
export function dependencyKeys(repoDir: string): CacheKey[] {
  const keys: CacheKey[] = [];
  for (const ecosystem of Object.keys(LOCKFILES) as Ecosystem[]) {
    const files = lockfilesOf(repoDir, ecosystem);
    if (!files.length) continue;
    const hash = createHash('sha256').update(`${FORMAT}\0${ecosystem}\0`);
    for (const f of files) hash.update(`${f}\0`).update(readFileSync(join(repoDir, f))).update('\0');
    keys.push({ ecosystem, hash: hash.digest('hex').slice(0, 32), files });
  }
  return keys;
}

/**
 * Where each package manager keeps its downloads inside a key's folder, per mode. Installs write there;
 * tests read only what they build from (Go modules, cargo's registry, Maven's and Gradle's repositories) and
 * keep their other writable state in the run's own caches.
 */
function ecosystemEnv(ecosystem: Ecosystem, dir: string, mode: CacheMounts['mode']): Record<string, string> {
  const install = mode === 'writable';
  switch (ecosystem) {
    case 'node':
      // At test time npm writes logs and npx downloads to its cache: it keeps the run's own writable one.
      // No audit, funding or update check: requests that an install from the cache does not need.
      return install
        ? {
            npm_config_cache: join(dir, 'npm'),
            YARN_CACHE_FOLDER: join(dir, 'yarn'),
            SLIPWAY_TOOL_BIN: join(dir, 'bin'),
            npm_config_store_dir: join(dir, 'pnpm-store'),
            BUN_INSTALL_CACHE_DIR: join(dir, 'bun'),
            npm_config_audit: 'false',
            npm_config_fund: 'false',
            npm_config_update_notifier: 'false',
          }
        : {};
    case 'python':
      return install ? { PIP_CACHE_DIR: join(dir, 'pip'), UV_CACHE_DIR: join(dir, 'uv'), POETRY_CACHE_DIR: join(dir, 'poetry') } : {};
    case 'go':
      // -modcacherw: module folders stay deletable (rm -rf of the cache works). Tests: never download.
      return install ? { GOMODCACHE: join(dir, 'mod'), GOFLAGS: '-modcacherw' } : { GOMODCACHE: join(dir, 'mod'), GOPROXY: 'off' };
    case 'cargo':
      return install ? { CARGO_HOME: join(dir, 'cargo') } : { CARGO_HOME: join(dir, 'cargo'), CARGO_NET_OFFLINE: 'true' };
    case 'maven':
      return {};
    case 'gradle':
      // Gradle's own read-only cache mode for tests; its writable home stays in the sandbox's /tmp.
      return install ? { GRADLE_USER_HOME: join(dir, 'gradle') } : { GRADLE_RO_DEP_CACHE: join(dir, 'gradle', 'caches'), GRADLE_USER_HOME: '/tmp/gradle-home' };
  }
}

/** Writes a file by rename, so a concurrent reader sees the old or the new contents, never half. */
function writeAtomic(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Days a key is kept unused: SLIPWAY_DEPENDENCY_CACHE_DAYS when it is a whole number, else the default. */
export function cacheDaysFromEnv(env: NodeJS.ProcessEnv): number {
  const value = env.SLIPWAY_DEPENDENCY_CACHE_DAYS;
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : DEFAULT_CACHE_DAYS;
}

export function createDependencyCache(opts: DependencyCacheOptions): DependencyCache {
  const root = opts.root;
  const maxAgeDays = opts.maxAgeDays ?? DEFAULT_CACHE_DAYS;
  const keyDir = (k: CacheKey) => join(root, k.ecosystem, k.hash);
  // When a key was last used, beside its folder (the folder's own date moves only when an install writes in it).
  const markUsed = (k: CacheKey): void => {
    try {
      writeFileSync(`${keyDir(k)}.used`, '');
    } catch {
      // a read-only cache: it is then never pruned either
    }
  };

  const prune = async (now = Date.now()): Promise<string[]> => {
    if (maxAgeDays <= 0) return [];
    const cutoff = now - maxAgeDays * DAY_MS;
    const lastUse = (dir: string): number => statSync(`${dir}.used`, { throwIfNoEntry: false })?.mtimeMs ?? statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? now;
    const removed: string[] = [];
    const trash = join(root, '.trash');
    for (const ecosystem of Object.keys(LOCKFILES)) {
      const folder = join(root, ecosystem);
      const entries = existsSync(folder) ? readdirSync(folder, { withFileTypes: true }) : [];
      for (const name of entries.filter((e) => e.isDirectory() && /^[0-9a-f]{32}$/.test(e.name)).map((e) => e.name)) {
        const dir = join(folder, name);
        if (lastUse(dir) >= cutoff) continue;
        // An install under way holds the key's lock: it is kept. (Commands that read it marked it as used.)
        const release = await acquireLock(`${dir}.lock`, 0);
        if (!release) continue;
        try {
          if (lastUse(dir) >= cutoff) continue;
          mkdirSync(trash, { recursive: true, mode: 0o700 });
          renameSync(dir, join(trash, `${ecosystem}-${name}-${now}`));
          for (const file of readdirSync(folder)) if (file.startsWith(`${name}.`) && !file.endsWith('.lock')) rmSync(join(folder, file), { force: true });
          removed.push(`${ecosystem}/${name}`);
        } finally {
          await release();
        }
      }
    }
    // Moved aside at once; deleted in the background (a key can hold gigabytes).
    if (existsSync(trash)) void rm(trash, { recursive: true, force: true }).catch(() => undefined);
    return removed;
  };
  // At most once a day, by whichever lease comes first.
  const pruneIfDue = async (): Promise<void> => {
    const stamp = join(root, '.pruned');
    const last = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (maxAgeDays <= 0 || Date.now() - last < DAY_MS) return;
    mkdirSync(root, { recursive: true, mode: 0o700 });
    writeFileSync(stamp, '');
    await prune().catch(() => undefined); // the cache still works; the next day tries again
  };

  const mountsFor = (keys: CacheKey[], mode: CacheMounts['mode'], proxied: boolean): CacheMounts => {
    const mounts: CacheMounts = { mode, dirs: [], env: {}, homeFiles: [], bin: [] };
    for (const k of keys) {
      const dir = keyDir(k);
      mounts.dirs.push(dir);
      if (k.ecosystem === 'node') mounts.bin.push(join(dir, 'bin'));
      Object.assign(mounts.env, ecosystemEnv(k.ecosystem, dir, mode));
      if (k.ecosystem === 'maven') {
        // Maven reads no proxy variables: its user settings (in the private home) name the repository and proxy.
        const install = mode === 'writable';
        const settings = join(root, k.ecosystem, `${k.hash}.${install ? (proxied ? 'install-proxied' : 'install') : 'test'}.settings.xml`);
        writeAtomic(settings, mavenSettings({ localRepository: join(dir, 'repository'), offline: !install, ...(install && proxied ? { proxy: SANDBOX_PROXY } : {}) }));
        mounts.homeFiles.push({ source: settings, target: '.m2/settings.xml' });
      }
    }
    return mounts;
  };

  return {
    root,
    readOnly(repoDir) {
      const keys = dependencyKeys(repoDir).filter((k) => existsSync(keyDir(k)));
      for (const k of keys) markUsed(k);
      return keys.length ? mountsFor(keys, 'read-only', false) : null;
    },
    prune,
    async lease(repoDir, lease) {
      const keys = dependencyKeys(repoDir);
      if (!keys.length) return null;
      await pruneIfDue();
      const releases: Array<() => Promise<void>> = [];
      const releaseAll = async () => {
        for (const r of releases.splice(0)) await r();
      };
      const taken: CacheLease['keys'] = [];
      try {
        const deadline = Date.now() + lease.waitMs;
        for (const k of keys) {
          mkdirSync(join(root, k.ecosystem), { recursive: true, mode: 0o700 });
          const release = await acquireLock(`${keyDir(k)}.lock`, Math.max(0, deadline - Date.now()), lease.signal);
          if (!release) {
            await releaseAll();
            return { mounts: null, keys: keys.map((key) => ({ ...key, dir: keyDir(key), reused: false })), release: async () => undefined };
          }
          releases.push(release);
          const dir = keyDir(k);
          const reused = existsSync(dir) && readdirSync(dir).length > 0;
          mkdirSync(dir, { recursive: true });
          markUsed(k);
          taken.push({ ...k, dir, reused });
        }
        return { mounts: mountsFor(keys, 'writable', lease.proxied), keys: taken, release: releaseAll };
      } catch (err) {
        await releaseAll();
        throw err;
      }
    },
  };
}

/**
 * A runner of `dir`'s commands with the cache of its keys mounted read-only, looked up again at each command
 * until some are found: a runner made before the install that fills them (a run's) still sees them after it.
 */
export function readingCacheRunner(cache: DependencyCache, dir: string, make: (mounts: CacheMounts | null) => CommandRunner): CommandRunner {
  let mounts = cache.readOnly(dir);
  let runner = make(mounts);
  return {
    kind: runner.kind,
    run(command, options) {
      if (!mounts) {
        mounts = cache.readOnly(dir);
        if (mounts) runner = make(mounts);
      }
      return runner.run(command, options);
    },
  };
}
