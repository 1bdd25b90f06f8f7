import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAllowed, startEgressProxy, type EgressProxy } from './egress-proxy.js';
import { allowEntries, npmrcRegistries, pipConfIndexes, registryHosts, urlHost } from './registry-hosts.js';
import { removeDir, tempDir, writeFiles } from './test-helpers.js';

/** Sends raw bytes to the proxy's socket and returns everything it answers until it closes or goes quiet. */
function ask(socketPath: string, raw: string, quietMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    s.on('data', (d: Buffer) => {
      out += d.toString();
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    });
    s.on('end', finish);
    s.on('error', reject);
    s.write(raw);
  });
}

describe('hostAllowed', () => {
  it('matches exact names and *.suffix entries, case- and trailing-dot-insensitively', () => {
    const allow = ['registry.npmjs.org', '*.pythonhosted.org'];
    expect(hostAllowed('registry.npmjs.org', allow)).toBe(true);
    expect(hostAllowed('Registry.NPMJS.org.', allow)).toBe(true);
    expect(hostAllowed('files.pythonhosted.org', allow)).toBe(true);
    expect(hostAllowed('pythonhosted.org', allow)).toBe(false);
    expect(hostAllowed('evilpythonhosted.org', allow)).toBe(false);
    expect(hostAllowed('registry.npmjs.org.evil.com', allow)).toBe(false);
    expect(hostAllowed('npmjs.org', allow)).toBe(false);
    expect(hostAllowed('', allow)).toBe(false);
  });
});

describe('egress proxy', () => {
  let root = '';
  let server: Server;
  let port = 0;
  let proxy: EgressProxy;

  beforeAll(async () => {
    root = tempDir('slipway-egress-');
    server = createServer((req, res) => res.end(`hello ${req.headers.host ?? ''} ${req.url ?? ''}\n`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as { port: number }).port;
    proxy = await startEgressProxy({
      allow: ['allowed.test'],
      dir: root,
      connector: async (host) => ({ host: host === 'allowed.test' || host === 'denied.test' ? '127.0.0.1' : host, port }),
    });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    removeDir(root);
  });

  it('listens on a socket in a fresh private folder', async () => {
    const { statSync } = await import('node:fs');
    expect(proxy.socketPath.startsWith(root)).toBe(true);
    expect(statSync(join(proxy.socketPath, '..')).mode & 0o077).toBe(0);
    expect(statSync(proxy.socketPath).isSocket()).toBe(true);
  });

  it('tunnels CONNECT to an allowed host and refuses another with 403 and a reason', async () => {
    const ok = await ask(proxy.socketPath, 'CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\nGET /in HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n');
    expect(ok).toMatch(/^HTTP\/1\.1 200 Connection Established/);
    expect(ok).toContain('hello allowed.test /in');
    const no = await ask(proxy.socketPath, 'CONNECT denied.test:443 HTTP/1.1\r\nHost: denied.test:443\r\n\r\n');
    expect(no).toMatch(/^HTTP\/1\.1 403/);
    expect(no).toContain('egress to denied.test:443 refused (not a package registry on the allowlist)');
    expect(no).not.toContain('hello');
  });

  it('forwards absolute-URI http requests by the URL host, not a forged Host header', async () => {
    const ok = await ask(proxy.socketPath, 'GET http://allowed.test/pkg HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n');
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
    expect(ok).toContain('hello allowed.test /pkg');
    const forged = await ask(proxy.socketPath, 'GET http://denied.test/pkg HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n');
    expect(forged).toMatch(/^HTTP\/1\.1 403/);
  });

  it('refuses other ports, relative URLs and malformed CONNECT lines', async () => {
    expect(await ask(proxy.socketPath, 'CONNECT allowed.test:22 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 403[^]*port 22/);
    expect(await ask(proxy.socketPath, 'GET /x HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await ask(proxy.socketPath, 'CONNECT allowed.test HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
  });

  it('lets a `name:port` entry through on that port only', async () => {
    const own = await startEgressProxy({ allow: ['npm.corp.test:4873'], dir: root, connector: async () => ({ host: '127.0.0.1', port }) });
    try {
      expect(await ask(own.socketPath, 'CONNECT npm.corp.test:4873 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/);
      expect(await ask(own.socketPath, 'CONNECT npm.corp.test:443 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 403[^]*port 443/);
    } finally {
      await own.close();
    }
  });

  it('records each host once, allowed or refused', () => {
    const byHost = proxy.decisions().map((d) => `${d.host}:${d.port}:${d.allowed}`);
    expect(byHost).toEqual(expect.arrayContaining(['allowed.test:443:true', 'denied.test:443:false', 'allowed.test:80:true', 'denied.test:80:false', 'allowed.test:22:false']));
    expect(new Set(byHost).size).toBe(byHost.length);
  });

  it('by default refuses an allowed name that resolves to loopback (the host\'s own services)', async () => {
    const strict = await startEgressProxy({ allow: ['localhost'], dir: root, ports: [port] });
    try {
      const r = await ask(strict.socketPath, `CONNECT localhost:${port} HTTP/1.1\r\n\r\n`);
      expect(r).toMatch(/^HTTP\/1\.1 403[^]*loopback/);
      expect(strict.decisions()).toEqual([expect.objectContaining({ host: 'localhost', allowed: false })]);
    } finally {
      await strict.close();
    }
  });
});

describe('registry hosts', () => {
  it('parses .npmrc registries and pip.conf indexes, keeping only host names', () => {
    expect(npmrcRegistries('registry=https://npm.corp.example/\n@acme:registry = https://acme.example/npm/\n//npm.corp.example/:_authToken=SECRET\nx=${REG}\nregistry=${REG}\n')).toEqual([
      'https://npm.corp.example/',
      'https://acme.example/npm/',
    ]);
    expect(pipConfIndexes('[global]\nindex-url = https://pip.corp.example/simple\nextra-index-url =\n    https://a.example/simple\n    https://b.example/simple\ntimeout = 5\n')).toEqual({
      index: ['https://pip.corp.example/simple'],
      extra: ['https://a.example/simple', 'https://b.example/simple'],
    });
    expect(urlHost('https://user:pass@pip.corp.example:8443/simple')).toBe('pip.corp.example');
    expect(urlHost('direct')).toBeNull();
  });

  it('reads the user\'s and the repository\'s configuration, and the defaults', async () => {
    const home = tempDir('slipway-reg-home-');
    const repo = tempDir('slipway-reg-repo-');
    try {
      writeFiles(home, { '.npmrc': 'registry=https://npm.corp.example/\n', '.config/pip/pip.conf': '[global]\nextra-index-url = https://extra.example/simple\n' });
      writeFiles(repo, { '.npmrc': '@acme:registry=https://acme.example/\n@v:registry=http://verdaccio.example:4873/\n' });
      const hosts = await registryHosts({ repoDir: repo, home, etcDir: repo, env: { GOPROXY: 'https://goproxy.example,direct', PIP_INDEX_URL: 'https://tok:en@pip.corp.example/simple' } });
      const names = hosts.map((h) => h.host);
      expect(names).toEqual(expect.arrayContaining([
        'npm.corp.example', 'acme.example', 'registry.npmjs.org', 'pip.corp.example', 'extra.example', 'goproxy.example',
        'sum.golang.org', 'crates.io', 'static.crates.io', 'index.crates.io', 'repo.maven.apache.org', 'repo1.maven.org',
      ]));
      // A configured index replaces PyPI; `direct` is not a host.
      expect(names).not.toContain('pypi.org');
      expect(names).not.toContain('direct');
      expect(names.join(' ')).not.toMatch(/tok|en@/);
      expect(hosts.find((h) => h.host === 'acme.example')?.source).toBe('the repository\'s .npmrc');
      expect(allowEntries(hosts)).toContain('verdaccio.example:4873');
      expect(allowEntries(hosts)).toContain('acme.example');
      const defaults = (await registryHosts({ repoDir: repo, home: repo, env: {}, etcDir: repo })).map((h) => h.host);
      expect(defaults).toEqual(expect.arrayContaining(['pypi.org', 'files.pythonhosted.org', 'proxy.golang.org', 'sum.golang.org']));
    } finally {
      removeDir(home);
      removeDir(repo);
    }
  });
});
