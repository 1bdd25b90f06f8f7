import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSandboxRunner, visiblePath } from './sandbox.js';
import { onHost, removeDir, tempDir, writeFiles } from './test-helpers.js';
import { detectToolchains } from './toolchains.js';

describe('detectToolchains', () => {
  const home = tempDir('slipway-home-');
  afterAll(() => removeDir(home));
  writeFiles(home, {
    '.pyenv/version': '3.11\n',
    '.cargo/bin/cargo': '',
    '.cargo/credentials.toml': 'token',
    '.rustup/settings.toml': '',
    '.m2/settings.xml': '<password/>',
    '.m2/repository/x': '',
    'go/pkg/mod/cache/x': '',
    '.ssh/id_rsa': 'secret',
  });

  it('binds the toolchains that exist, hides their credentials and points the tools at them', () => {
    const t = detectToolchains(home, {}, { goCache: '/tmp/go-build' });
    // ~/.m2/settings.xml (server passwords) is not bound at all: only Maven's repository is.
    expect(t.readOnly.sort()).toEqual([join(home, '.cargo'), join(home, '.m2/repository'), join(home, '.pyenv'), join(home, '.rustup'), join(home, 'go')].sort());
    expect(t.masked.sort()).toEqual([join(home, '.cargo/credentials.toml')]);
    expect(t.env).toMatchObject({
      PYENV_ROOT: join(home, '.pyenv'),
      CARGO_HOME: join(home, '.cargo'),
      RUSTUP_HOME: join(home, '.rustup'),
      GOPATH: join(home, 'go'),
      GOMODCACHE: join(home, 'go/pkg/mod'),
      GOCACHE: '/tmp/go-build',
      GOTOOLCHAIN: 'local',
      PYTHONDONTWRITEBYTECODE: '1',
    });
  });

  it('never binds the home itself or a parent of it, whatever the environment says', () => {
    const t = detectToolchains(home, { CARGO_HOME: home, PYENV_ROOT: '/', RUSTUP_HOME: join(home, '..') }, { goCache: '/tmp/g' });
    expect(t.readOnly).not.toContain(home);
    expect(t.readOnly).not.toContain('/');
    expect(t.readOnly.every((d) => d.startsWith(`${home}/`))).toBe(true);
    expect(t.env.CARGO_HOME).toBeUndefined();
  });

  it('keeps only PATH entries that exist and are visible inside', () => {
    const path = ['/usr/bin', join(home, '.cargo/bin'), join(home, '.local/bin'), '/nonexistent/bin', 'relative', '/usr/bin', '/bin'].join(':');
    expect(visiblePath(path, ['/usr', '/bin', join(home, '.cargo')])).toBe(['/usr/bin', join(home, '.cargo/bin'), '/bin'].join(':'));
  });
});

describe('toolchains inside the sandbox', () => {
  const dir = tempDir('slipway-tc-');
  afterAll(() => removeDir(dir));
  const runner = createSandboxRunner({ writableDirs: [dir], home: homedir(), env: process.env });
  const run = (cmd: string) => runner.run(cmd, { cwd: dir, timeoutMs: 30_000 });

  it.runIf(onHost('python3', '-m', 'pytest', '--version'))('python3 and pytest (pyenv shims)', async () => {
    const r = await run('python3 --version && python3 -m pytest --version');
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/Python 3\.\d+/);
    expect(r.output).toMatch(/pytest \d+/);
  });

  it.runIf(onHost('go', 'version'))('go', async () => {
    const r = await run('go version && go env GOCACHE');
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/go version go1\.\d+/);
    expect(r.output).toContain('/tmp/go-build');
  });

  it.runIf(onHost('cargo', '--version'))('cargo and rustc (rustup proxies)', async () => {
    const r = await run('cargo --version && rustc --version');
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/cargo \d+\.\d+/);
    expect(r.output).toMatch(/rustc \d+\.\d+/);
  });

  it('node, npm and git', async () => {
    const r = await run('node --version && npm --version && git --version');
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/^v\d+\./);
  });
});
