/**
 * The package registries a dependency install may reach, read from the package managers' own configuration
 * (npm's .npmrc, pip's pip.conf and PIP_* variables, GOPROXY/GOSUMDB) plus the fixed public registries of
 * cargo and Maven. Only host names come out: never a path, a user or a token.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from './env.js';

export interface RegistryHost {
  host: string;
  /** Set when the configuration names a port other than 443/80 (`https://npm.corp:4873/`). */
  port?: number;
  /** Where the name came from, for the decision log (`default npm registry`, `<repo>/.npmrc`, `PIP_INDEX_URL`). */
  source: string;
}

export interface RegistryHostsOptions {
  /** The clone: its .npmrc counts, as npm would read it (it can only add hosts, and they are recorded). */
  repoDir: string;
  /** The user's home folder (their .npmrc and pip.conf). */
  home: string;
  env: Env;
  /** Where the system-wide pip.conf lives (default /etc; tests point it elsewhere). */
  etcDir?: string;
}

const FIXED: RegistryHost[] = [
  { host: 'registry.yarnpkg.com', source: 'default yarn registry' },
  { host: 'crates.io', source: 'cargo' },
  { host: 'static.crates.io', source: 'cargo' },
  { host: 'index.crates.io', source: 'cargo' },
  { host: 'repo.maven.apache.org', source: 'Maven Central' },
  { host: 'repo1.maven.org', source: 'Maven Central' },
];

/** The host name of an http(s) URL, or null (credentials and paths are dropped). */
export function urlHost(value: string): string | null {
  return urlHostPort(value)?.host ?? null;
}

function urlHostPort(value: string): { host: string; port?: number } | null {
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    if (!host) return null;
    return url.port && url.port !== '443' && url.port !== '80' ? { host, port: Number(url.port) } : { host };
  } catch {
    return null;
  }
}

/** The proxy's allowlist entries: `host`, or `host:port` for a registry on its own port. */
export function allowEntries(hosts: RegistryHost[]): string[] {
  return hosts.map((h) => (h.port ? `${h.host}:${h.port}` : h.host));
}

async function text(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** `registry=` and `@scope:registry=` values of an .npmrc (lines with ${VAR} are skipped). */
export function npmrcRegistries(content: string): string[] {
  const out: string[] = [];
  for (const raw of content.split('\n')) {
    const m = /^\s*(?:@[\w.-]+:)?registry\s*=\s*(\S+)\s*$/.exec(raw);
    if (m && !m[1]!.includes('${')) out.push(m[1]!.replace(/^["']|["']$/g, ''));
  }
  return out;
}

/** `index-url` and `extra-index-url` values of a pip.conf, continuation lines included. */
export function pipConfIndexes(content: string): { index: string[]; extra: string[] } {
  const index: string[] = [];
  const extra: string[] = [];
  let current: string[] | null = null;
  for (const line of content.split('\n')) {
    const m = /^(index-url|extra-index-url)\s*[=:]\s*(.*)$/.exec(line.trim());
    if (m && !/^\s/.test(line)) {
      current = m[1] === 'index-url' ? index : extra;
      current.push(...m[2]!.split(/\s+/).filter(Boolean));
    } else if (current && /^\s+\S/.test(line) && !line.includes('=')) {
      current.push(...line.trim().split(/\s+/));
    } else {
      current = null;
    }
  }
  return { index, extra };
}

export async function registryHosts(opts: RegistryHostsOptions): Promise<RegistryHost[]> {
  const found: RegistryHost[] = [];
  const add = (value: string, source: string) => {
    const at = urlHostPort(value);
    if (at && !found.some((f) => f.host === at.host && f.port === at.port)) found.push({ ...at, source });
  };
  const env = opts.env;

  // npm: the environment wins over the user's .npmrc, which wins over the project's; all scoped registries count.
  const npm: Array<[string, string]> = [];
  const envRegistry = env.npm_config_registry ?? env.NPM_CONFIG_REGISTRY;
  if (envRegistry) npm.push([envRegistry, 'npm_config_registry']);
  for (const [file, label] of [[join(opts.home, '.npmrc'), '~/.npmrc'], [join(opts.repoDir, '.npmrc'), 'the repository\'s .npmrc']] as const) {
    for (const value of npmrcRegistries(await text(file))) npm.push([value, label]);
  }
  for (const [value, source] of npm) add(value, source);
  add('https://registry.npmjs.org/', 'default npm registry');

  // pip: PIP_CONFIG_FILE, then the global, user and XDG files; variables override them.
  const confFiles = [
    env.PIP_CONFIG_FILE,
    join(opts.etcDir ?? '/etc', 'pip.conf'),
    join(opts.home, '.pip', 'pip.conf'),
    join(env.XDG_CONFIG_HOME ?? join(opts.home, '.config'), 'pip', 'pip.conf'),
  ].filter((f): f is string => Boolean(f));
  let pipIndex = false;
  for (const value of (env.PIP_INDEX_URL ?? '').split(/\s+/).filter(Boolean)) {
    add(value, 'PIP_INDEX_URL');
    pipIndex = true;
  }
  for (const value of (env.PIP_EXTRA_INDEX_URL ?? '').split(/\s+/).filter(Boolean)) add(value, 'PIP_EXTRA_INDEX_URL');
  for (const file of confFiles) {
    const { index, extra } = pipConfIndexes(await text(file));
    for (const value of index) add(value, file);
    for (const value of extra) add(value, file);
    if (index.length) pipIndex = true;
  }
  if (!pipIndex) {
    add('https://pypi.org/simple', 'default pip index');
    add('https://files.pythonhosted.org/', 'default pip index');
  }

  // Go: GOPROXY is a list (`,` or `|`); `direct` and `off` are not hosts and are not allowed through.
  const goproxy = env.GOPROXY ?? 'https://proxy.golang.org,direct';
  for (const value of goproxy.split(/[,|]/)) add(value, 'GOPROXY');
  const gosumdb = env.GOSUMDB ?? 'sum.golang.org';
  if (gosumdb !== 'off') {
    const [name, url] = gosumdb.split(/\s+/);
    add(url ?? `https://${(name ?? '').split('+')[0]}`, 'GOSUMDB');
  }

  for (const fixed of FIXED) if (!found.some((f) => f.host === fixed.host)) found.push(fixed);
  return found;
}
