/** The sandbox with the egress proxy, against the real bubblewrap: only the allowed names get through. */
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEgressProxy, type EgressProxy } from './egress-proxy.js';
import { allowEntries, registryHosts } from './registry-hosts.js';
import { createSandboxRunner, type SandboxRunner } from './sandbox.js';
import { makeRepo, removeDir, tempDir, writeFiles } from './test-helpers.js';

describe('sandbox with the egress proxy', () => {
  let root = '';
  let home = '';
  let clone = '';
  let server: Server;
  let port = 0;
  let proxy: EgressProxy;
  let runner: SandboxRunner;
  let plain: SandboxRunner;
  const run = (r: SandboxRunner, command: string) => r.run(command, { cwd: clone, timeoutMs: 20_000 });

  beforeAll(async () => {
    root = tempDir('slipway-egress-sb-');
    home = join(root, 'home');
    clone = makeRepo({ 'README.md': 'hi\n' });
    server = createServer((req, res) => res.end(`hello ${req.headers.host ?? ''}\n`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as { port: number }).port;
    proxy = await startEgressProxy({
      allow: ['allowed.test'],
      dir: root,
      connector: async () => ({ host: '127.0.0.1', port }),
    });
    runner = createSandboxRunner({ writableDirs: [clone], home, env: process.env, egressProxySocket: proxy.socketPath });
    plain = createSandboxRunner({ writableDirs: [clone], home, env: process.env });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    removeDir(root);
    removeDir(clone);
  });

  it('sets the proxy variables for every package manager', async () => {
    const r = await run(runner, 'echo "P=$HTTPS_PROXY N=$npm_config_https_proxy I=$PIP_PROXY X=[$NO_PROXY]"');
    expect(r.output).toContain('P=http://127.0.0.1:3128 N=http://127.0.0.1:3128 I=http://127.0.0.1:3128 X=[]');
    expect(r.exitCode).toBe(0);
  });

  it('reaches an allowed host through the proxy (http and a CONNECT tunnel) and is refused for another', async () => {
    const r = await run(
      runner,
      'curl -sS http://allowed.test/a; curl -sS -p http://allowed.test:443/b; curl -sS http://denied.test/c; curl -sS -p https://denied.test/ 2>&1; echo end',
    );
    expect(r.output).toContain('hello allowed.test\n');
    expect(r.output).toContain('hello allowed.test:443\n');
    expect(r.output).toContain('egress to denied.test:80 refused');
    expect(r.output).toMatch(/CONNECT tunnel failed, response 403|403/);
    expect(r.output).not.toContain('hello denied.test');
    expect(proxy.decisions()).toEqual(expect.arrayContaining([
      { host: 'allowed.test', port: 80, allowed: true },
      { host: 'allowed.test', port: 443, allowed: true },
      expect.objectContaining({ host: 'denied.test', allowed: false }),
    ]));
  });

  it('still has no direct network: the host\'s servers and the internet are unreachable without the proxy', async () => {
    const r = await run(runner, `curl -sS --noproxy '*' -m 3 http://127.0.0.1:${port}/ 2>&1; echo "rc=$?"; curl -sS --noproxy '*' -m 3 https://registry.npmjs.org/ 2>&1; echo "rc=$?"`);
    expect(r.output).not.toContain('hello');
    expect(r.output).not.toMatch(/rc=0/);
  });

  it('the socket is reachable only where it is bound', async () => {
    const inside = await run(runner, 'curl -sS --unix-socket /run/slipway/egress.sock http://allowed.test/u');
    // curl sends a relative URL over a unix socket: the proxy's own refusal proves it answered.
    expect(inside.output).toContain('slipway: this proxy takes absolute http:// URLs or CONNECT');
    const unbound = await run(plain, `ls -la ${join(proxy.socketPath, '..')} 2>&1; curl -sS --unix-socket ${proxy.socketPath} http://allowed.test/u 2>&1; curl -sS --unix-socket /run/slipway/egress.sock http://allowed.test/u 2>&1; echo "HTTPS_PROXY=[$HTTPS_PROXY]"`);
    expect(unbound.output).not.toMatch(/hello|slipway: this proxy/);
    expect(unbound.output).toContain('HTTPS_PROXY=[]');
  });
});

/** Not the core proof: a real `npm ci` through the proxy, when this machine reaches the npm registry at all. */
describe('npm ci through the egress proxy', () => {
  const tarball = 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz';
  let reachable = false;
  beforeAll(async () => {
    reachable = await fetch('https://registry.npmjs.org/is-number', { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    if (!reachable) console.warn('skipping the real npm ci through the egress proxy: registry.npmjs.org is not reachable from this machine');
  });

  it('installs a one-package lockfile from registry.npmjs.org, allowed by the default registry list', async (ctx) => {
    if (!reachable) ctx.skip();
    const root = tempDir('slipway-egress-npm-');
    const home = join(root, 'home');
    const clone = makeRepo({ 'README.md': 'hi\n' });
    writeFiles(clone, {
      'package.json': JSON.stringify({ name: 'egress-demo', version: '1.0.0', dependencies: { 'is-number': '7.0.0' } }),
      'package-lock.json': JSON.stringify({
        name: 'egress-demo',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'egress-demo', version: '1.0.0', dependencies: { 'is-number': '7.0.0' } },
          'node_modules/is-number': {
            version: '7.0.0',
            resolved: tarball,
            integrity: 'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
            engines: { node: '>=0.12.0' },
          },
        },
      }),
    });
    const allow = allowEntries(await registryHosts({ repoDir: clone, home, env: {}, etcDir: root }));
    mkdirSync(join(root, 'cache'));
    const proxy = await startEgressProxy({ allow, dir: root });
    try {
      const runner = createSandboxRunner({ writableDirs: [clone], home, env: process.env, egressProxySocket: proxy.socketPath, cacheDir: join(root, 'cache') });
      const r = await runner.run('npm ci --no-audit --no-fund && node -e "console.log(require(\'is-number\')(5))"', { cwd: clone, timeoutMs: 90_000 });
      expect(r.output).toContain('true');
      expect(r.exitCode).toBe(0);
      expect(proxy.decisions()).toEqual([{ host: 'registry.npmjs.org', port: 443, allowed: true }]);
    } finally {
      await proxy.close();
      removeDir(root);
      removeDir(clone);
    }
  }, 120_000);
});
