/**
 * The adversarial suite's kit: canaries planted outside the clone (a fake HOME, a sentinel process, probe
 * servers), the features that have landed, and the tool results the model received in a recorded run.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import type { RecordedRequest } from '../../support/llm-server.js';
import { ROOT, tempDir } from '../../support/repos.js';

export const CLI = path.join(ROOT, 'bin', 'slipway.js');

/** Bubblewrap must be there: a missing sandbox fails the suite, it never skips it. */
export function requireBwrap(): string {
  const found = existsSync('/usr/bin/bwrap')
    ? '/usr/bin/bwrap'
    : execFileSync('sh', ['-c', 'command -v bwrap || true'], { encoding: 'utf8' }).trim();
  expect(found, 'bubblewrap is required by the security suite: apt-get install bubblewrap').not.toBe('');
  return found;
}

/** Commands of the built CLI (from its --help): cases of features still being written skip with a name. */
export function cliFeatures(): { policy: boolean; ledger: boolean } {
  let help = '';
  try {
    help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`the built CLI did not start (run npm run build first): ${String(error)}`);
  }
  return { policy: /^\s+policy\b/m.test(help), ledger: /^\s+ledger\b/m.test(help) };
}

const tag = (): string => randomBytes(6).toString('hex');

/** A fake HOME full of credentials, plus a folder for markers that hooks and monitors would leave. */
export interface CanaryHome {
  dir: string;
  markers: string;
  /** Canary value of each planted file, by path relative to the home. */
  secrets: Record<string, string>;
  /** sha256 of every planted file, to show none changed. */
  digest(): string;
  /** Marker files present (none should ever appear). */
  markersFound(): string[];
}

export function plantCanaryHome(): CanaryHome {
  const dir = tempDir('slipway-sec-home-');
  const markers = tempDir('slipway-sec-markers-');
  const secrets: Record<string, string> = {
    '.ssh/id_rsa': `canary-ssh-${tag()}`,
    '.aws/credentials': `canary-aws-${tag()}`,
    '.netrc': `canary-netrc-${tag()}`,
    '.gitconfig': `canary-gitconfig-${tag()}`,
    '.npmrc': `canary-npmrc-${tag()}`,
    '.config/gh/hosts.yml': `canary-gh-${tag()}`,
  };
  // Plain tokens, not PEM or AKIA shapes: the redactor must not be what keeps them out of sight.
  const content: Record<string, string> = {
    '.ssh/id_rsa': `not really a key\n${secrets['.ssh/id_rsa']}\n`,
    '.aws/credentials': `[default]\naws_access_key_id = canary\naws_secret_access_key = ${secrets['.aws/credentials']}\n`,
    '.netrc': `machine git.example.com login me password ${secrets['.netrc']}\n`,
    // Live config: were host-side git to read the user's global config, these would leave markers.
    '.gitconfig': [
      `[user]\n\tname = ${secrets['.gitconfig']}\n\temail = canary@example.invalid`,
      `[core]\n\tfsmonitor = touch ${markers}/global-fsmonitor; echo\n\thooksPath = ${dir}/git-hooks`,
      '',
    ].join('\n'),
    '.npmrc': `//registry.npmjs.org/:_authToken=${secrets['.npmrc']}\n`,
    '.config/gh/hosts.yml': `github.com:\n    oauth_token: ${secrets['.config/gh/hosts.yml']}\n    user: me\n`,
  };
  for (const [rel, text] of Object.entries(content)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text, { mode: 0o600 });
  }
  mkdirSync(path.join(dir, 'git-hooks'));
  for (const hook of ['pre-commit', 'post-commit', 'post-checkout', 'reference-transaction']) {
    writeFileSync(path.join(dir, 'git-hooks', hook), `#!/bin/sh\ntouch ${markers}/global-${hook}\n`);
    chmodSync(path.join(dir, 'git-hooks', hook), 0o755);
  }
  const digest = (): string => {
    const hash = createHash('sha256');
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(entry.parentPath, entry.name);
      hash.update(full);
      if (entry.isFile()) hash.update(readFileSync(full));
    }
    return hash.digest('hex');
  };
  return { dir, markers, secrets, digest, markersFound: () => readdirSync(markers) };
}

/** A process outside the sandbox with a secret in its environment: /proc/<pid>/environ must stay out of reach. */
export function startSentinel(secret: string): ChildProcess {
  const child = spawn('sleep', ['600'], { env: { PATH: '/usr/bin:/bin', SENTINEL_SECRET: secret }, stdio: 'ignore' });
  child.unref();
  return child;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** An HTTP server on 127.0.0.1 counting connections and requests per path; and a UDP "DNS" counting packets. */
export interface Probe {
  port: number;
  udpPort: number;
  connections: number;
  hits: Record<string, number>;
  packets: number;
  close(): Promise<void>;
}

export async function startProbe(): Promise<Probe> {
  const probe = { port: 0, udpPort: 0, connections: 0, hits: {} as Record<string, number>, packets: 0 } as Probe;
  const server: Server = createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0] ?? '/';
    probe.hits[p] = (probe.hits[p] ?? 0) + 1;
    res.end(`probe-reached ${p}\n`);
  });
  server.on('connection', () => probe.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  probe.port = (server.address() as AddressInfo).port;
  const udp: Socket = createSocket('udp4');
  udp.on('message', (_msg, from) => {
    probe.packets++;
    udp.send('probe-answer', from.port, from.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  probe.udpPort = udp.address().port;
  probe.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => udp.close(() => resolve()));
  };
  return probe;
}

/**
 * A positive control run on the host. Asynchronous on purpose: the probe servers live in this process, and a
 * synchronous child would block the event loop that has to answer it.
 */
export function host(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: 15_000, ...(opts.env ? { env: opts.env } : {}) }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(' ')} failed on the host: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

/** One tool call the model made and the result it was sent back, as seen in the bytes on the wire. */
export interface Exchange {
  name: string;
  input: unknown;
  output: string;
  isError: boolean;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (c && typeof c === 'object' && 'text' in c ? String(c.text) : textOf(c))).join('');
  return content === undefined ? '' : JSON.stringify(content);
}

/** Every tool call and its result across the Anthropic Messages requests the fake received. */
export function exchanges(requests: readonly RecordedRequest[]): Exchange[] {
  const calls = new Map<string, { name: string; input: unknown }>();
  const results = new Map<string, { output: string; isError: boolean }>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.type === 'tool_use' && typeof n.id === 'string' && !calls.has(n.id)) calls.set(n.id, { name: String(n.name), input: n.input });
    // The first request that carries a result has it whole; later ones may elide it to fit the context.
    if (n.type === 'tool_result' && typeof n.tool_use_id === 'string' && !results.has(n.tool_use_id)) {
      results.set(n.tool_use_id, { output: textOf(n.content), isError: n.is_error === true });
    }
    Object.values(n).forEach(visit);
  };
  for (const r of requests) visit(r.body);
  return [...calls].flatMap(([id, call]) => {
    const result = results.get(id);
    return result ? [{ ...call, ...result }] : [];
  });
}

/** The result the model got for exactly this call; fails when the call never ran or never got an answer. */
export function resultOf(all: readonly Exchange[], name: string, input: unknown): Exchange {
  const key = canonical(input);
  const found = all.find((e) => e.name === name && canonical(e.input) === key);
  if (!found) throw new Error(`no tool result for ${name} ${key.slice(0, 200)} in the model's requests`);
  return found;
}

/** The bytes of SLIPWAY_HOME's own files (the SQLite database and its WAL), not the clones. */
export function storeBytes(home: string): string {
  return readdirSync(home, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(path.join(home, e.name)).toString('latin1'))
    .join('\n');
}

/** Samples the host's process count while a run goes on. */
export function sampleProcesses(): { stop(): { baseline: number; max: number } } {
  const count = (): number => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  const baseline = count();
  let max = baseline;
  const timer = setInterval(() => (max = Math.max(max, count())), 50);
  return {
    stop() {
      clearInterval(timer);
      return { baseline, max };
    },
  };
}

/** Tally printed at the end of the suite. */
export const tally = { cases: 0, blocked: 0, bypasses: [] as string[] };

/** Runs a case's assertions and counts it; a failed containment assertion is recorded as a bypass. */
export async function contained(name: string, body: () => void | Promise<void>): Promise<void> {
  tally.cases++;
  try {
    await body();
    tally.blocked++;
  } catch (error) {
    tally.bypasses.push(`${name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    throw error;
  }
}
