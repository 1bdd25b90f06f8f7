/**
 * The bubblewrap command runner: each command in fresh namespaces, with no capabilities, no network
 * (unless asked), a read-only system, a private /tmp and home, and only the given folders writable.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, type Dirent } from 'node:fs';
import { delimiter, isAbsolute, join, relative } from 'node:path';
import type { CommandOptions, CommandResult, CommandRunner } from '../protocol/workspace.js';
import type { CacheMounts } from './dep-cache.js';
import { stripEnv, type Env } from './env.js';
import {
  DEFAULT_MAX_PROCESSES,
  pidsCgroupParent,
  reapOrphanedCgroupsThrottled,
  processLimitKind,
  rlimitPrelude,
  type ProcessLimitKind,
} from './process-limit.js';
import { git } from './git.js';
import { abortedResult, collect } from './spawn.js';
import { LAUNCH_COMMAND, launchOptions, parkLauncher, takeLauncher } from './sandbox-launcher.js';
import { isInside } from './paths.js';
import { detectToolchains, type ToolchainMounts } from './toolchains.js';

export interface SandboxRunnerOptions {
  /** Folders the command may write (the clone); everything else is read-only or absent. */
  writableDirs: string[];
  /**
   * Where the first writable folder appears inside (default: its own path). A checkout of the base commit is
   * shown where the clone is, so the absolute paths an install wrote into the clone (an editable Python
   * package, a virtualenv's scripts, links in node_modules) lead to the checkout's files, not the clone's.
   * Commands then name that path as their cwd.
   */
  seenAs?: string;
  /** The user's home folder: hidden behind an empty private one, except for toolchains. */
  home: string;
  /** The user's environment: only an allowlist, minus secrets, gets through. */
  env: Env;
  network?: boolean;
  /**
   * A UNIX socket of the host's egress proxy (see egress-proxy.ts). The sandbox keeps its own empty network;
   * the socket is bound inside, a small forwarder listens on the sandbox's loopback, and the proxy variables
   * point every package manager at it. Needs node inside the sandbox. Ignored when `network` is true.
   */
  egressProxySocket?: string;
  /** A writable folder kept between commands for build caches (Go, npm, pip); default: none. */
  cacheDir?: string;
  /**
   * The dependency cache shared between runs (dep-cache.ts): its folders bound writable for an install and
   * read-only otherwise, the variables that point package managers at them, and Maven's settings.xml.
   */
  dependencyCache?: CacheMounts | null;
  /** Most processes the command may have at once (default 512). */
  maxProcesses?: number;
  /** Path of bwrap; default: found on env.PATH. */
  bwrap?: string;
  /**
   * Files in the writable folders (path relative to the folder) that commands must not read, such as the
   * secret files the policy denies: each is covered with /dev/null when a command starts.
   */
  maskFile?: (relativePath: string) => boolean;
  /** The files of writableDirs[0] that maskFile covers, when the caller listed them already (filesToMask). */
  maskedFiles?: Promise<string[]>;
}

export interface SandboxRunner extends CommandRunner {
  readonly kind: 'bubblewrap';
  /** How the process limit is enforced here (`none`: running as root without a usable pids cgroup). */
  readonly processLimit: ProcessLimitKind;
  /** The bwrap arguments a command would run with (for logs and `slipway doctor`). */
  bwrapArgs(command: string, options: Pick<CommandOptions, 'cwd' | 'env'>): string[];
}

const INSTALL_HINT =
  'Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap), or pass --no-sandbox to run unsandboxed (not recommended).';

export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
  readonly hint: string;
  constructor(what: string, hint = INSTALL_HINT) {
    super(`${what} ${hint}`);
    this.hint = hint;
  }
}

/** The uid and gid commands have inside the sandbox. */
export const SANDBOX_UID = 1000;
const TMP_SIZE = 2 * 1024 ** 3;
/** Where the egress socket appears inside, and the loopback port the forwarder listens on. */
const EGRESS_SOCKET = '/run/slipway/egress.sock';
const EGRESS_PORT = 3128;
const EGRESS_READY = '/tmp/.slipway-egress-ready';
/**
 * The forwarder started inside the sandbox before the command: loopback port -> the bound socket. It runs with
 * the command's rights and limits; it only ever connects to the one socket.
 */
const FORWARDER = [
  "const net=require('net'),fs=require('fs');const[sock,port,ready]=process.argv.slice(1);",
  "net.createServer((c)=>{const u=net.connect(sock);c.pipe(u);u.pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());c.on('close',()=>u.destroy());u.on('close',()=>c.destroy());})",
  ".listen(Number(port),'127.0.0.1',()=>fs.writeFileSync(ready,''));",
].join('');
const FORWARDER_PRELUDE =
  `if command -v node >/dev/null 2>&1; then node -e "$2" ${EGRESS_SOCKET} ${EGRESS_PORT} ${EGRESS_READY} </dev/null >/dev/null 2>&1 & ` +
  `i=0; while [ ! -e ${EGRESS_READY} ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; rm -f ${EGRESS_READY}; ` +
  `else echo "slipway: node is not on PATH inside the sandbox, so the registry proxy is unavailable" >&2; fi;`;

/** The proxy variables package managers read (npm, pip, curl, Go, cargo, Python's urllib). */
function proxyEnv(): Record<string, string> {
  const url = `http://127.0.0.1:${EGRESS_PORT}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    npm_config_proxy: url,
    npm_config_https_proxy: url,
    npm_config_noproxy: '',
    PIP_PROXY: url,
    CARGO_HTTP_PROXY: url,
    // Gradle and other JVM tools read the JVM's proxy properties (Maven gets settings.xml instead).
    JAVA_TOOL_OPTIONS: `-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=${EGRESS_PORT} -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=${EGRESS_PORT}`,
    NO_PROXY: '',
    no_proxy: '',
  };
}
const HOME_SIZE = 1024 ** 3;

/** bwrap on env.PATH, or null. */
export function findBwrap(env: Env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

const SYSTEM_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** What a build or test needs from /etc; not shadow, ssh host keys, sudoers, npmrc, pip.conf and the like. */
const ETC_NAMES = [
  'passwd', 'group', 'hosts', 'host.conf', 'nsswitch.conf', 'resolv.conf', 'gai.conf', 'services', 'protocols',
  'networks', 'hostname', 'localtime', 'timezone', 'locale.alias', 'os-release', 'lsb-release', 'debian_version',
  'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'alternatives', 'ssl', 'ca-certificates', 'ca-certificates.conf',
  'pki', 'crypto-policies', 'mime.types', 'magic', 'terminfo', 'login.defs', 'shells', 'fonts', 'maven', 'perl',
  'python3',
];
const ETC_PATTERNS = [/^java-[\w.-]+$/, /^python3\.\d+$/];
const ETC_PRIVATE = ['/etc/ssl/private', '/etc/pki/tls/private', '/etc/pki/CA/private'];

function systemArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const path of SYSTEM_LINKS) {
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (info.isDirectory()) args.push('--ro-bind', path, path);
  }
  if (existsSync('/opt')) args.push('--ro-bind', '/opt', '/opt');
  args.push('--dir', '/etc');
  let names: string[] = [];
  try {
    names = readdirSync('/etc');
  } catch {
    names = [];
  }
  for (const name of names) {
    if (!ETC_NAMES.includes(name) && !ETC_PATTERNS.some((p) => p.test(name))) continue;
    const path = join('/etc', name);
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    const target = info.isSymbolicLink() ? safeRealpath(path) : path;
    if (!target) continue;
    // A link into /usr or /etc resolves inside too; one elsewhere (/run/systemd/resolve/...) is bound as its target.
    if (info.isSymbolicLink() && (isInside(target, '/usr') || isInside(target, '/etc'))) {
      args.push('--symlink', readlinkSync(path), path);
    } else {
      args.push('--ro-bind', target, path);
    }
  }
  // Commands run as the owner of root's files (uid 1000 inside maps to the caller), so private keys
  // under otherwise useful folders are covered with an empty, read-only tmpfs.
  for (const path of ETC_PRIVATE) {
    if (existsSync(path)) args.push('--tmpfs', path, '--remount-ro', path);
  }
  return args;
}

function safeRealpath(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** `.git` directly in a writable folder or one level below: read-only inside (see the note in buildBwrapArgs). */
function gitDirsIn(dir: string): string[] {
  const found: string[] = [];
  if (existsSync(join(dir, '.git'))) found.push(join(dir, '.git'));
  let entries: Dirent[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const e of entries) {
    if (e.isDirectory() && e.name !== '.git' && existsSync(join(dir, e.name, '.git'))) found.push(join(dir, e.name, '.git'));
  }
  return found;
}

const MASK_SCAN_LIMIT = 20_000;
const MASK_SKIP = new Set(['.git', 'node_modules']);

/**
 * Regular files under dir for which mask() holds (a link that matches counts by its target inside dir), from
 * git's list of the folder's files: tracked ones, and untracked ones no ignore rule covers (or the list given,
 * of a fresh clone, whose files are its commit's). Unbounded, and
 * cheap on a large tree (ignored folders such as node_modules or .venv are never listed). A folder that is not
 * a git work tree is scanned instead (bounded; see scanToMask).
 */
export async function filesToMask(dir: string, mask: (relativePath: string) => boolean, listedAlready?: Promise<string[]>): Promise<string[]> {
  let names = listedAlready ? await listedAlready.catch(() => null) : null;
  if (!names) {
    const listed = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: dir, allowFailure: true }).catch(() => null);
    if (!listed || listed.exitCode !== 0) return scanToMask(dir, mask);
    names = listed.stdout.split('\0');
  }
  const realDir = safeRealpath(dir) ?? dir;
  const found = new Set<string>();
  for (const rel of new Set(names)) {
    if (!rel || !mask(rel)) continue;
    const path = join(dir, rel);
    const info = lstatSync(path, { throwIfNoEntry: false });
    const target = info?.isFile() ? path : info?.isSymbolicLink() ? linkedFileInside(path, realDir) : null;
    if (target) found.add(target);
  }
  return [...found];
}

/**
 * filesToMask for a folder git does not know, by walking it: at most MASK_SCAN_LIMIT entries, and .git and
 * node_modules are not entered.
 */
export function scanToMask(dir: string, mask: (relativePath: string) => boolean): string[] {
  const found = new Set<string>();
  const realDir = safeRealpath(dir) ?? dir;
  const queue = [''];
  let seen = 0;
  while (queue.length && seen < MASK_SCAN_LIMIT) {
    const rel = queue.shift()!;
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (++seen > MASK_SCAN_LIMIT) break;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!MASK_SKIP.has(e.name)) queue.push(child);
      } else if ((e.isFile() || e.isSymbolicLink()) && mask(child)) {
        const target = e.isFile() ? join(dir, child) : linkedFileInside(join(dir, child), realDir);
        if (target) found.add(target);
      }
    }
  }
  return [...found];
}

function linkedFileInside(link: string, realDir: string): string | null {
  const target = safeRealpath(link);
  return target && isInside(target, realDir) && lstatSync(target, { throwIfNoEntry: false })?.isFile() ? target : null;
}

/** PATH entries that exist and can be seen inside the sandbox, in order. */
export function visiblePath(path: string, visibleRoots: string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of path.split(delimiter)) {
    if (!dir || !isAbsolute(dir) || seen.has(dir)) continue;
    if (!visibleRoots.some((root) => isInside(dir, root)) || !existsSync(dir)) continue;
    seen.add(dir);
    out.push(dir);
  }
  return out.join(delimiter);
}

interface Layout {
  toolchains: ToolchainMounts;
  system: string[];
  features: BwrapFeatures;
}

/** Options newer than the bwrap of older distributions (Ubuntu 22.04 ships 0.6, without --disable-userns). */
interface BwrapFeatures {
  disableUserns: boolean;
  size: boolean;
}

const featureCache = new Map<string, BwrapFeatures>();

function bwrapFeatures(bwrap: string): BwrapFeatures {
  let features = featureCache.get(bwrap);
  if (!features) {
    let help = '';
    try {
      help = execFileSync(bwrap, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    } catch (err) {
      help = String((err as { stdout?: unknown }).stdout ?? '');
    }
    features = { disableUserns: help.includes('--disable-userns'), size: help.includes('--size') };
    featureCache.set(bwrap, features);
  }
  return features;
}

/**
 * Asks bwrap for its options without blocking (`bwrap --help` takes a process start), so that a runner made
 * later finds them known. Optional: a runner made first asks synchronously, as before.
 */
export async function probeBwrapFeatures(bwrap: string): Promise<void> {
  if (featureCache.has(bwrap)) return;
  const help = await new Promise<string>((resolve) => {
    execFile(bwrap, ['--help'], { encoding: 'utf8', timeout: 5000 }, (_error, stdout) => resolve(String(stdout ?? '')));
  });
  if (!featureCache.has(bwrap)) featureCache.set(bwrap, { disableUserns: help.includes('--disable-userns'), size: help.includes('--size') });
}

function egressSocket(opts: SandboxRunnerOptions): string | null {
  return opts.egressProxySocket && !opts.network ? opts.egressProxySocket : null;
}

function sandboxEnv(opts: SandboxRunnerOptions, layout: Layout, extra: Record<string, string> | undefined): Record<string, string> {
  const base = stripEnv(opts.env);
  const roots = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/opt', ...layout.toolchains.readOnly, ...opts.writableDirs, ...(opts.seenAs ? [opts.seenAs] : [])];
  if (opts.cacheDir) roots.push(opts.cacheDir);
  const cache = opts.cacheDir;
  const deps = opts.dependencyCache;
  return {
    ...base,
    // The dependency cache's tool folders first: a package manager the install fetched is found there.
    PATH: [...(deps?.bin ?? []), visiblePath(base.PATH ?? '/usr/local/bin:/usr/bin:/bin', roots) || '/usr/bin:/bin'].join(delimiter),
    HOME: opts.home,
    USER: 'slipway',
    LOGNAME: 'slipway',
    TMPDIR: '/tmp',
    LANG: base.LANG ?? 'C.UTF-8',
    // The JVM takes user.home from the passwd entry of uid 1000, not HOME: Maven would miss the private
    // home's ~/.m2 (the user's repository, read-only, and Slipway's settings.xml).
    MAVEN_OPTS: `-Duser.home=${opts.home}`,
    ...layout.toolchains.env,
    ...(cache ? { npm_config_cache: join(cache, 'npm'), PIP_CACHE_DIR: join(cache, 'pip') } : {}),
    ...(deps?.env ?? {}),
    ...stripEnv({}, extra ?? {}),
    ...(egressSocket(opts) ? proxyEnv() : {}),
  };
}

/**
 * The full bwrap argument list for one command. Order matters: later mounts sit on top of earlier ones
 * (the private home over the real one, toolchains and the clone over that), and `/` is made read-only
 * last so the only writable places are /tmp, /var/tmp, the private home, the cache and the clone.
 */
function buildArgs(
  opts: SandboxRunnerOptions,
  layout: Layout,
  command: string,
  options: Pick<CommandOptions, 'cwd' | 'env'>,
  /** Per writable folder, the files to cover (filesToMask); absent: each folder is scanned now. */
  maskedFiles?: string[][],
): string[] {
  const maxProcesses = opts.maxProcesses ?? DEFAULT_MAX_PROCESSES;
  const args = [
    '--unshare-all',
    ...(opts.network ? ['--share-net'] : []),
    // Explicit (unshare-all only tries it): fail rather than run without a user namespace.
    '--unshare-user',
    // No nested user namespaces: they would hand a command a fresh set of capabilities to attack the kernel with.
    ...(layout.features.disableUserns ? ['--disable-userns'] : []),
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--cap-drop', 'ALL',
    '--new-session',
    '--die-with-parent',
    '--hostname', 'slipway',
    ...layout.system,
    '--proc', '/proc',
    '--dev', '/dev',
    ...(layout.features.size ? ['--size', String(TMP_SIZE)] : []), '--tmpfs', '/tmp',
    '--dir', '/var', '--tmpfs', '/var/tmp',
    ...(layout.features.size ? ['--size', String(HOME_SIZE)] : []), '--tmpfs', opts.home,
  ];
  const egress = egressSocket(opts);
  if (egress) args.push('--dir', '/run/slipway', '--bind', egress, EGRESS_SOCKET);
  for (const dir of layout.toolchains.readOnly) args.push('--ro-bind', dir, dir);
  for (const file of layout.toolchains.masked) args.push('--ro-bind', '/dev/null', file);
  if (opts.cacheDir) args.push('--bind', opts.cacheDir, opts.cacheDir);
  const deps = opts.dependencyCache;
  for (const dir of deps?.dirs ?? []) args.push(deps?.mode === 'writable' ? '--bind' : '--ro-bind', dir, dir);
  for (const file of deps?.homeFiles ?? []) args.push('--ro-bind', file.source, join(opts.home, file.target));
  for (const [i, dir] of opts.writableDirs.entries()) {
    const inside = i === 0 && opts.seenAs ? opts.seenAs : dir;
    const at = (path: string): string => join(inside, relative(dir, path));
    args.push('--bind', dir, inside);
    // Host-side git reads a clone's config and hooks outside the sandbox: if a command could write
    // them (core.fsmonitor, filters, hooks) it could run code on the host. Its .git is read-only inside.
    for (const gitDir of gitDirsIn(dir)) args.push('--ro-bind', gitDir, at(gitDir));
    // Only files there now: bwrap would create a missing mount point in the clone.
    const masked = maskedFiles?.[i] ?? (opts.maskFile ? scanToMask(dir, opts.maskFile) : []);
    for (const file of masked) if (lstatSync(file, { throwIfNoEntry: false })?.isFile()) args.push('--ro-bind', '/dev/null', at(file));
  }
  args.push('--remount-ro', '/', '--chdir', options.cwd, '--clearenv');
  for (const [name, value] of Object.entries(sandboxEnv(opts, layout, options.env))) args.push('--setenv', name, value);
  const prelude = `${rlimitPrelude(maxProcesses)}${egress ? ` ${FORWARDER_PRELUDE}` : ''}`;
  // The command goes with the options (see sandbox-launcher.ts), so that bwrap can be started before it is known.
  args.push(...launchOptions(command, prelude, egress ? FORWARDER : null));
  return args;
}

function validate(opts: SandboxRunnerOptions): void {
  if (!isAbsolute(opts.home) || opts.home === '/') throw new Error(`sandbox home must be an absolute folder, not ${opts.home}`);
  for (const dir of [...opts.writableDirs, ...(opts.seenAs ? [opts.seenAs] : [])]) {
    if (!isAbsolute(dir) || dir === '/') throw new Error(`writable folder must be absolute and not /: ${dir}`);
    if (isInside(opts.home, dir)) throw new Error(`writable folder ${dir} would expose the home folder ${opts.home}`);
  }
  if (opts.seenAs && opts.writableDirs.length === 0) throw new Error('seenAs needs a writable folder to show there');
  for (const dir of opts.dependencyCache?.dirs ?? []) {
    if (!isAbsolute(dir) || isInside(opts.home, dir)) throw new Error(`dependency cache folder must be absolute and not expose the home folder: ${dir}`);
  }
  for (const file of opts.dependencyCache?.homeFiles ?? []) {
    if (isAbsolute(file.target) || file.target.split('/').includes('..')) throw new Error(`a file for the private home must be a relative path inside it: ${file.target}`);
  }
}

export function createSandboxRunner(opts: SandboxRunnerOptions): SandboxRunner {
  validate(opts);
  const bwrap = opts.bwrap ?? findBwrap(opts.env);
  if (!bwrap) throw new SandboxUnavailableError('bubblewrap (bwrap) was not found on PATH; Slipway runs every command the agent makes inside it.');
  const goCache = opts.cacheDir ? join(opts.cacheDir, 'go-build') : '/tmp/go-build';
  const layout: Layout = {
    toolchains: detectToolchains(opts.home, opts.env, { goCache }),
    system: systemArgs(),
    features: bwrapFeatures(bwrap),
  };
  const cgroupParent = pidsCgroupParent();
  // Sandboxes a killed Slipway left behind go before this one starts its own.
  if (cgroupParent) reapOrphanedCgroupsThrottled(cgroupParent);
  const maxProcesses = opts.maxProcesses ?? DEFAULT_MAX_PROCESSES;

  // The files to cover, listed once, as the runner is made (beside the rest of the run's start-up): they are
  // the repository's. A file a command creates later is the agent's own doing, and is not looked for.
  const maskFile = opts.maskFile;
  const masks = maskFile ? Promise.all(opts.writableDirs.map((dir, i) => (i === 0 && opts.maskedFiles) || filesToMask(dir, maskFile))) : null;
  masks?.catch(() => undefined); // awaited by run(); a failure there means scanning instead

  const buildOptions = (command: string, options: Pick<CommandOptions, 'cwd' | 'env'>, maskedFiles?: string[][]): string[] => {
    if (!isAbsolute(options.cwd)) throw new Error(`cwd must be absolute: ${options.cwd}`);
    return buildArgs(opts, layout, command, options, maskedFiles);
  };
  const launcherSpec = { bwrap, cgroupParent, maxProcesses };
  // The first command's launcher gets ready while the run starts.
  parkLauncher(launcherSpec);

  return {
    kind: 'bubblewrap',
    processLimit: processLimitKind(cgroupParent),
    bwrapArgs: (command, options) => [...buildOptions(command, options), ...LAUNCH_COMMAND],
    async run(command: string, options: CommandOptions): Promise<CommandResult> {
      if (options.signal?.aborted) return abortedResult();
      const args = buildOptions(command, options, (await masks?.catch(() => undefined)) ?? undefined);
      const launcher = await takeLauncher(launcherSpec);
      try {
        // A bwrap that could not even be started (it was there when the runner was made).
        if (launcher.child.pid === undefined) throw new SandboxUnavailableError(`could not start ${bwrap}${launcher.failure ? `: ${launcher.failure.message}` : ''}`);
        launcher.start(args);
        return await collect(launcher.child, options);
      } finally {
        await launcher.release();
        // The next command's launcher gets ready while the model thinks.
        parkLauncher(launcherSpec);
      }
    },
  };
}

/** Start a trivial sandbox to check that this machine allows it (user namespaces, bwrap). */
export async function probeSandbox(env: Env, home = '/home/slipway'): Promise<{ ok: boolean; detail: string }> {
  try {
    const runner = createSandboxRunner({ writableDirs: [], home, env });
    const result = await runner.run('echo sandbox-ok', { cwd: '/', timeoutMs: 15_000 });
    const ok = result.exitCode === 0 && result.output.includes('sandbox-ok');
    return { ok, detail: ok ? 'a test command ran in the sandbox' : result.output.trim() || `exit ${result.exitCode ?? result.signal}` };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
