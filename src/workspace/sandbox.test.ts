import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlainRunner } from './plain-runner.js';
import { createSandboxRunner, filesToMask, findBwrap, probeSandbox, SandboxUnavailableError, type SandboxRunner } from './sandbox.js';
import { pidsCgroupParent, reapOrphanedCgroups } from './process-limit.js';
import { gitCmd, makeRepo, removeDir, tempDir, writeFiles } from './test-helpers.js';

const CANARY = 'PRIVATE-KEY-CANARY-5f2c';

describe('bubblewrap sandbox', () => {
  let root = '';
  let home = '';
  let clone = '';
  let runner: SandboxRunner;
  const run = (command: string, timeoutMs = 10_000) => runner.run(command, { cwd: clone, timeoutMs });

  beforeAll(() => {
    root = tempDir('slipway-sandbox-');
    home = join(root, 'home');
    // A fake home full of secrets, plus one toolchain folder that must stay visible.
    writeFiles(home, {
      '.ssh/id_rsa': `${CANARY}\n`,
      '.aws/credentials': `[default]\naws_secret_access_key=${CANARY}\n`,
      '.netrc': `machine example.com password ${CANARY}\n`,
      '.gitconfig': `[user]\n  token = ${CANARY}\n`,
      '.npmrc': `//registry.npmjs.org/:_authToken=${CANARY}\n`,
      '.config/gh/hosts.yml': `oauth_token: ${CANARY}\n`,
      '.cargo/bin/tool': '#!/bin/sh\necho toolchain-visible\n',
      '.cargo/credentials.toml': `[registry]\ntoken = "${CANARY}"\n`,
    });
    execFileSync('chmod', ['+x', join(home, '.cargo/bin/tool')]);
    clone = makeRepo({ 'README.md': 'hi\n' });
    runner = createSandboxRunner({
      writableDirs: [clone],
      home,
      env: { ...process.env, PATH: `${join(home, '.cargo/bin')}:${process.env.PATH ?? ''}`, FAKE_API_KEY: 'sk-canary', GITHUB_TOKEN: 'ghp-canary' },
      maxProcesses: 64,
    });
  });
  afterAll(() => {
    removeDir(root);
    removeDir(clone);
  });

  it('runs as a non-root user with no capabilities at all', async () => {
    const r = await run('id -u; grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status');
    expect(r.exitCode).toBe(0);
    const lines = r.output.trim().split('\n');
    expect(lines[0]).toBe('1000');
    for (const line of lines.slice(1)) expect(line).toMatch(/:\s+0000000000000000$/);
  });

  it('cannot remount, mount or create user namespaces', async () => {
    const r = await run('mount -o remount,rw / && echo REMOUNTED; mount -t tmpfs none /tmp && echo MOUNTED; unshare -U true && echo UNSHARED; echo done');
    expect(r.output).toContain('done');
    expect(r.output).not.toMatch(/REMOUNTED|MOUNTED|UNSHARED/);
  });

  it('keeps writes in the clone and refuses them in the system', async () => {
    const r = await run('echo kept > kept.txt; for p in /usr/x /etc/x /x /bin/x /opt/x; do touch $p 2>/dev/null && echo "WROTE $p"; done; echo done');
    expect(r.output).toContain('done');
    expect(r.output).not.toContain('WROTE');
    expect(readFileSync(join(clone, 'kept.txt'), 'utf8')).toBe('kept\n');
  });

  it('hides the real home: secrets are unreadable inside, readable outside (positive control)', async () => {
    const outside = await createPlainRunner({ home, env: process.env }).run(`cat ${home}/.ssh/id_rsa`, { cwd: clone, timeoutMs: 10_000 });
    expect(outside.output).toContain(CANARY);
    const files = ['.ssh/id_rsa', '.aws/credentials', '.netrc', '.gitconfig', '.npmrc', '.config/gh/hosts.yml', '.cargo/credentials.toml'];
    const r = await run(`echo "HOME=$HOME"; for f in ${files.join(' ')}; do cat ~/$f; done; echo "LS $(ls -A ~ | tr '\\n' ' ')"; tool`);
    expect(r.output).toContain(`HOME=${home}`);
    expect(r.output).not.toContain(CANARY);
    // The toolchain folder is visible (read-only), its credentials file is not.
    expect(r.output).toContain('toolchain-visible');
    expect(r.output).toMatch(/^LS \.cargo $/m);
  });

  it('gives a private, throwaway home and /tmp', async () => {
    const r = await run('echo scratch > ~/scratch && echo scratch > /tmp/scratch && cat ~/scratch /tmp/scratch');
    expect(r.output).toBe('scratch\nscratch\n');
    expect(existsSync(join(home, 'scratch'))).toBe(false);
    const again = await run('ls ~/scratch /tmp/scratch 2>&1; true');
    expect(again.output).toMatch(/No such file/);
    expect(readdirSync(home).sort()).toEqual(['.aws', '.cargo', '.config', '.gitconfig', '.netrc', '.npmrc', '.ssh']);
  });

  it('works for a clone kept under the home (~/.slipway/workspaces), showing nothing else of it', async () => {
    const inHome = join(home, '.slipway', 'workspaces', 'r1', 'repo');
    writeFiles(home, { '.slipway/slipway.db': `runs ${CANARY}\n`, '.slipway/workspaces/r1/repo/README.md': 'hi\n' });
    try {
      const nested = createSandboxRunner({ writableDirs: [inHome], home, env: process.env });
      const r = await nested.run('echo ok > out.txt; cat ~/.slipway/slipway.db ~/.ssh/id_rsa 2>&1; ls -A ~/.slipway ~/.slipway/workspaces/r1', { cwd: inHome, timeoutMs: 10_000 });
      expect(readFileSync(join(inHome, 'out.txt'), 'utf8')).toBe('ok\n');
      expect(r.output).not.toContain(CANARY);
      expect(r.output).toMatch(/slipway\.db: No such file/);
      expect(r.output).toMatch(/r1:\nrepo\n/);
    } finally {
      removeDir(join(home, '.slipway'));
    }
  });

  it('shows only a curated /etc (no shadow, no ssh host keys)', async () => {
    const r = await run('cat /etc/shadow 2>&1; ls /etc/ssh 2>&1; test -r /etc/passwd && echo passwd-ok; ls -A /etc/ssl/private 2>&1 | wc -l');
    expect(r.output).toMatch(/shadow: No such file/);
    expect(r.output).toMatch(/ssh.*No such file/);
    expect(r.output).toContain('passwd-ok');
    expect(r.output).toMatch(/passwd-ok\n0\n$/);
  });

  it('strips secrets from the environment', async () => {
    const r = await run('env');
    expect(r.output).not.toContain('sk-canary');
    expect(r.output).not.toContain('ghp-canary');
    expect(r.output).toMatch(/^PATH=/m);
  });

  it('makes the clone .git read-only inside, so commands cannot plant hooks or config for host-side git', async () => {
    const r = await run('touch .git/hooks/pre-commit 2>&1; git config core.fsmonitor "touch /tmp/x" 2>&1; git status --porcelain; echo ok');
    expect(r.output).toMatch(/Read-only file system/);
    expect(existsSync(join(clone, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(readFileSync(join(clone, '.git', 'config'), 'utf8')).not.toContain('fsmonitor');
    expect(r.output).toContain('ok');
    expect(gitCmd(clone, 'status', '--porcelain')).toContain('kept.txt');
  });

  it('covers secret files from git\'s list: tracked at any depth, untracked ones, never an ignored folder\'s', async () => {
    const repo = makeRepo({ '.gitignore': '.venv/\n', 'services/api/deep/.env': `TOKEN=${CANARY}\n`, 'app.js': '1\n' });
    writeFiles(repo, { 'new.env': `NEW=${CANARY}\n`, '.venv/lib/site.env': 'x\n', 'gone.env': 'y\n' });
    const isSecret = (rel: string) => rel.endsWith('.env');
    expect((await filesToMask(repo, isSecret)).map((f) => f.slice(repo.length + 1)).sort()).toEqual(['gone.env', 'new.env', 'services/api/deep/.env']);
    const runner = createSandboxRunner({ writableDirs: [repo], home, env: process.env, maxProcesses: 64, maskFile: isSecret });
    rmSync(join(repo, 'gone.env')); // listed when the runner was made, gone before the command: not made again
    const r = await runner.run(`cat services/api/deep/.env new.env 2>/dev/null | grep -c ${CANARY}; cat app.js`, { cwd: repo, timeoutMs: 10_000 });
    expect(r.output.trim().split('\n')).toEqual(['0', '1']);
    expect(existsSync(join(repo, 'gone.env'))).toBe(false);
    // A folder git does not know is walked instead.
    const plainDir = tempDir('slipway-not-git-');
    writeFiles(plainDir, { 'a/b/.env': 'x\n', 'c.txt': 'y\n' });
    expect(await filesToMask(plainDir, isSecret)).toEqual([join(plainDir, 'a/b/.env')]);
    removeDir(plainDir);
    removeDir(repo);
  });

  it('shows another folder where the clone is (seenAs): its files, writable, with its own .git read-only and masks applied', async () => {
    const checkout = tempDir('slipway-seen-as-');
    writeFiles(checkout, { 'where.txt': 'the base checkout\n', 'secret.env': `${CANARY}\n`, '.git/config': '[core]\n' });
    const shown = createSandboxRunner({ writableDirs: [checkout], seenAs: clone, home, env: process.env, maxProcesses: 64, maskFile: (rel) => rel === 'secret.env' });
    const r = await shown.run(
      `pwd; cat where.txt; cat README.md 2>&1 | head -1; cat secret.env 2>&1 | grep -c ${CANARY}; echo new > made.txt; touch .git/planted 2>&1 | grep -c Read-only`,
      { cwd: clone, timeoutMs: 10_000 },
    );
    expect(r.exitCode, r.output).toBe(0);
    const lines = r.output.trim().split('\n');
    expect(lines[0]).toBe(clone);
    expect(lines[1]).toBe('the base checkout');
    expect(lines[2]).toMatch(/No such file/); // the clone's own files are not there
    expect(lines[3]).toBe('0'); // masked: the secret cannot be read
    expect(lines[4]).toBe('1'); // .git is read-only
    expect(readFileSync(join(checkout, 'made.txt'), 'utf8')).toBe('new\n');
    expect(existsSync(join(clone, 'made.txt'))).toBe(false);
    // Without a sandbox the command runs in the checkout itself, at the same place under it.
    const plain = createPlainRunner({ writableDirs: [checkout], seenAs: clone, home, env: process.env });
    expect((await plain.run('pwd', { cwd: clone, timeoutMs: 10_000 })).output.trim()).toBe(checkout);
    removeDir(checkout);
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer((socket) => socket.on('error', () => undefined).end('hello\n'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const connect = () =>
      `node -e "require('net').connect(${port}, '127.0.0.1').on('connect', () => { console.log('CONNECTED'); process.exit(0) }).on('error', (e) => { console.log('ERR', e.code); process.exit(1) })"`;

    it('is off: a server on the host loopback is unreachable inside, reachable outside', async () => {
      const inside = await run(connect());
      expect(inside.output).toContain('ERR');
      expect(inside.output).not.toContain('CONNECTED');
      const outside = await createPlainRunner({ home, env: process.env }).run(connect(), { cwd: clone, timeoutMs: 10_000 });
      expect(outside.output).toContain('CONNECTED');
    });

    it('is on when asked', async () => {
      const online = createSandboxRunner({ writableDirs: [clone], home, env: process.env, network: true });
      const r = await online.run(connect(), { cwd: clone, timeoutMs: 10_000 });
      expect(r.output).toContain('CONNECTED');
    });
  });

  it('bounds the number of processes', async (ctx) => {
    if (runner.processLimit === 'none') ctx.skip();
    // Tries to start 2000 sleepers; the shell gives up at the first fork that fails.
    const r = await run('i=0; while [ $i -lt 2000 ]; do sleep 30 & i=$((i+1)); echo $i > started; done; echo ALL-STARTED', 30_000);
    const started = Number(readFileSync(join(clone, 'started'), 'utf8'));
    expect(r.output).not.toContain('ALL-STARTED');
    expect(r.output).toMatch(/fork|Resource temporarily unavailable/i);
    expect(started).toBeLessThanOrEqual(64);
    expect(r.timedOut).toBe(false);
  });

  it("kills and removes the sandboxes of a Slipway that died, never another live process's or namespace's", async (ctx) => {
    const parent = pidsCgroupParent();
    if (runner.processLimit !== 'cgroup' || !parent) ctx.skip();
    const ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))![1]!;
    const deadPid = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
    const sleeper = (): ChildProcess => spawn('sleep', ['300'], { stdio: 'ignore' });
    const group = (name: string, child: ChildProcess) => {
      mkdirSync(join(parent!, name));
      writeFileSync(join(parent!, name, 'cgroup.procs'), String(child.pid));
      return join(parent!, name);
    };
    const liveOwner = sleeper();
    const [orphan, kept, elsewhere] = [sleeper(), sleeper(), sleeper()];
    const orphanGroup = group(`slipway-${ns}-${deadPid}-1`, orphan);
    const keptGroup = group(`slipway-${ns}-${liveOwner.pid}-1`, kept);
    const elsewhereGroup = group(`slipway-1-${deadPid}-2`, elsewhere); // another pid namespace's
    const exited = new Promise((resolve) => orphan.on('exit', resolve));
    try {
      // This call, or one a runner started in the background (once a minute), reaps it.
      expect(await reapOrphanedCgroups(parent!)).toBeLessThanOrEqual(1);
      await exited;
      expect(existsSync(orphanGroup)).toBe(false);
      expect(kept.exitCode).toBeNull();
      expect(elsewhere.exitCode).toBeNull();
      expect(existsSync(keptGroup) && existsSync(elsewhereGroup)).toBe(true);
    } finally {
      for (const child of [liveOwner, orphan, kept, elsewhere]) child.kill('SIGKILL');
      for (const dir of [orphanGroup, keptGroup, elsewhereGroup]) {
        for (let i = 0; i < 50 && existsSync(dir); i++) {
          try {
            rmdirSync(dir);
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    }
  });

  it('prints the argv it uses', () => {
    const args = runner.bwrapArgs('true', { cwd: clone });
    expect(args).toEqual(expect.arrayContaining(['--unshare-all', '--unshare-user', '--disable-userns', '--cap-drop', 'ALL', '--die-with-parent', '--new-session']));
    expect(args).not.toContain('--share-net');
    expect(args.join(' ')).toContain(`--bind ${clone} ${clone}`);
    expect(args.join(' ')).toContain(`--ro-bind ${clone}/.git ${clone}/.git`);
  });
});

describe('findBwrap and probeSandbox', () => {
  it('finds bwrap on PATH only', () => {
    expect(findBwrap({ PATH: '/usr/bin:/bin' })).toBe('/usr/bin/bwrap');
    const empty = tempDir();
    expect(findBwrap({ PATH: empty })).toBeNull();
    expect(findBwrap({})).toBeNull();
    removeDir(empty);
  });

  it('reports a working sandbox, and a missing one with how to install it', async () => {
    expect(await probeSandbox(process.env)).toEqual({ ok: true, detail: 'a test command ran in the sandbox' });
    const missing = await probeSandbox({ PATH: '/nonexistent' });
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain('bwrap');
    expect(() => createSandboxRunner({ writableDirs: [], home: '/home/x', env: { PATH: '/nonexistent' } })).toThrow(/bubblewrap/);
  });

  it('refuses to make the home or / writable', () => {
    expect(() => createSandboxRunner({ writableDirs: ['/'], home: '/home/x', env: process.env })).toThrow();
    expect(() => createSandboxRunner({ writableDirs: ['/home'], home: '/home/x', env: process.env })).toThrow(/home/);
  });
});

describe('SandboxUnavailableError', () => {
  it('says how to install bubblewrap', () => {
    const err = new SandboxUnavailableError('bwrap was not found.');
    expect(err.message).toContain('apt-get install bubblewrap');
    expect(err.hint).toContain('apt-get install bubblewrap');
  });
});
