/**
 * The egress proxy for dependency installs: an HTTP proxy on the host, reachable only through a UNIX socket
 * in a private folder that the sandbox has bound, which lets through only the package registries' host names
 * on ports 443 and 80. https goes through CONNECT as an opaque tunnel (TLS stays end to end); plain http as
 * absolute-URI requests. Everything else gets a 403 with a body that says why.
 */
import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

export interface EgressDecision {
  host: string;
  port: number;
  allowed: boolean;
  /** Why it was refused (not on the allowlist, a port other than 443/80, a private address). */
  reason?: string;
}

/** Where a permitted host:port is actually reached; the default resolves the name and refuses loopback and link-local addresses. */
export type EgressConnector = (host: string, port: number) => Promise<{ host: string; port: number }>;

export interface EgressProxyOptions {
  /**
   * Host names, exact (`registry.npmjs.org`) or a suffix (`*.pythonhosted.org`), reachable on `ports`; an entry
   * `name:port` (a registry configured with its own port, `npm.corp:4873`) allows that port only.
   */
  allow: string[];
  /** A folder of the caller's; the socket goes in a fresh 0700 folder inside it. */
  dir: string;
  /** Ports a host may be reached on (default 443 and 80). */
  ports?: number[];
  /** For tests: map a name to a local server instead of resolving it. */
  connector?: EgressConnector;
  /**
   * Decides each host:port itself instead of `allow` and `ports` (a run's policy `network` rules); private
   * and loopback addresses are refused either way.
   */
  decide?: (host: string, port: number) => { allowed: boolean; reason?: string };
  /** Says who may reach what, in a refusal's body (default: the package registries on the allowlist). */
  refusalNote?: string;
}

export interface EgressProxy {
  readonly socketPath: string;
  /** Every distinct host:port asked for, allowed or refused, in order of first request. */
  decisions(): EgressDecision[];
  close(): Promise<void>;
}

const DEFAULT_PORTS = [443, 80];

/** True when `host` is on the allowlist: an exact name, or under a `*.suffix` entry (not the suffix itself). */
export function hostAllowed(host: string, allow: readonly string[]): boolean {
  const name = normalizeHost(host);
  if (!name) return false;
  return allow.some((entry) => {
    const e = entry.toLowerCase().replace(/\.$/, '');
    return e.startsWith('*.') ? name.endsWith(e.slice(1)) && name.length > e.length - 1 : name === e;
  });
}

function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

function splitEntry(entry: string): { name: string; port: number | null } {
  const m = /^(.+):(\d{1,5})$/.exec(entry);
  return m && !m[1]!.includes(':') ? { name: m[1]!, port: Number(m[2]) } : { name: entry, port: null };
}

/** `host:port` of a CONNECT line, or null. */
function parseAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:\s/]+):(\d{1,5})$/.exec(authority);
  if (!m) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: normalizeHost(m[1]!), port } : null;
}

/** Loopback, link-local (cloud metadata), unspecified: never a registry, and where the host's own services live. */
function forbiddenAddress(address: string): boolean {
  const a = address.toLowerCase();
  if (isIP(a) === 4) return /^(127\.|169\.254\.|0\.)/.test(a);
  return a === '::1' || a === '::' || a.startsWith('fe80:') || /^::ffff:(127\.|169\.254\.|0\.)/.test(a);
}

/** Thrown by a connector for a destination that must not be reached even though its name is allowed. */
export class EgressRefusedError extends Error {
  override readonly name = 'EgressRefusedError';
}

const resolvePublic: EgressConnector = async (host, port) => {
  const { address } = await lookup(host);
  if (forbiddenAddress(address)) throw new EgressRefusedError(`${host} resolves to ${address}, a loopback or link-local address`);
  return { host: address, port };
};

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const ports = opts.ports ?? DEFAULT_PORTS;
  const connector = opts.connector ?? resolvePublic;
  const folder = mkdtempSync(join(opts.dir, 'egress-'));
  const socketPath = join(folder, 'proxy.sock');
  const seen = new Map<string, EgressDecision>();
  const sockets = new Set<Duplex>();

  const judge = (host: string, port: number): EgressDecision => {
    const key = `${host}:${port}`;
    let decision = seen.get(key);
    if (!decision && opts.decide) {
      decision = { host, port, ...opts.decide(host, port) };
      seen.set(key, decision);
    }
    if (!decision) {
      const matching = opts.allow.map(splitEntry).filter((e) => hostAllowed(host, [e.name]));
      if (!matching.length) decision = { host, port, allowed: false, reason: 'not a package registry on the allowlist' };
      else if (!matching.some((e) => (e.port === null ? ports.includes(port) : e.port === port))) {
        decision = { host, port, allowed: false, reason: `port ${port} (only ${ports.join(', ')} or a registry's configured port)` };
      } else decision = { host, port, allowed: true };
      seen.set(key, decision);
    }
    return decision;
  };
  const refuseAfterLookup = (host: string, port: number, reason: string) => {
    const d = seen.get(`${host}:${port}`);
    if (d?.allowed) seen.set(`${host}:${port}`, { host, port, allowed: false, reason });
  };
  const refusal = (d: EgressDecision) =>
    `slipway: egress to ${d.host}:${d.port} refused (${d.reason ?? 'not allowed'}). ${opts.refusalNote ?? `Dependency installs may reach only the package registries: ${opts.allow.join(', ')}.`}\n`;

  const server = createServer((req, res) => void forwardHttp(req, res));
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => void tunnel(req, client, head));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  async function tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    if (!target) return endRaw(client, 400, 'slipway: CONNECT needs host:port\n');
    const d = judge(target.host, target.port);
    if (!d.allowed) return endRaw(client, 403, refusal(d));
    let upstream: Socket;
    try {
      const to = await connector(target.host, target.port);
      upstream = await open(to.host, to.port);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof EgressRefusedError) {
        refuseAfterLookup(target.host, target.port, reason);
        return endRaw(client, 403, `slipway: egress to ${target.host}:${target.port} refused (${reason}).\n`);
      }
      return endRaw(client, 502, `slipway: could not reach ${target.host}:${target.port}: ${reason}\n`);
    }
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  }

  async function forwardHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return endHttp(res, 400, 'slipway: this proxy takes absolute http:// URLs or CONNECT\n');
    }
    if (url.protocol !== 'http:') return endHttp(res, 400, `slipway: unsupported scheme ${url.protocol}\n`);
    const port = url.port ? Number(url.port) : 80;
    const d = judge(normalizeHost(url.hostname), port);
    if (!d.allowed) return endHttp(res, 403, refusal(d));
    let to: { host: string; port: number };
    try {
      to = await connector(d.host, port);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof EgressRefusedError) refuseAfterLookup(d.host, port, reason);
      return endHttp(res, err instanceof EgressRefusedError ? 403 : 502, `slipway: could not reach ${d.host}:${port}: ${reason}\n`);
    }
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: url.host };
    for (const name of Object.keys(headers)) if (name.startsWith('proxy-')) delete headers[name];
    const upstream = httpRequest({ host: to.host, port: to.port, method: req.method, path: `${url.pathname}${url.search}`, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => (res.headersSent ? res.destroy() : endHttp(res, 502, `slipway: ${d.host}: ${err.message}\n`)));
    req.pipe(upstream);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    decisions: () => [...seen.values()].map((d) => ({ ...d })),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

const CONNECT_TIMEOUT_MS = 30_000;

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.setTimeout(CONNECT_TIMEOUT_MS, () => s.destroy(new Error(`no answer in ${CONNECT_TIMEOUT_MS / 1000} s`)));
    s.once('connect', () => {
      s.removeListener('error', reject);
      s.setTimeout(0);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function endRaw(client: Duplex, status: number, body: string): void {
  const text = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway';
  client.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

function endHttp(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}
