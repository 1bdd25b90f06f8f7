import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxRunner } from './sandbox.js';
import { LAUNCH_COMMAND } from './sandbox-launcher.js';
import { makeRepo, removeDir, tempDir } from './test-helpers.js';

/** This process's children that are bwrap waiting for its options (`bwrap --args 3 ...`), by pid. */
function waitingLaunchers(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (ppid === process.pid && argv[0]?.endsWith('bwrap') && argv[1] === '--args' && argv[2] === '3') found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function until<T>(probe: () => T | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('sandbox launchers (bwrap started ahead of its command)', () => {
  let root = '';
  let home = '';
  let clone = '';

  beforeAll(() => {
    root = tempDir('slipway-launcher-');
    home = join(root, 'home');
    clone = makeRepo({ 'README.md': 'hi\n' });
  });
  afterAll(() => {
    removeDir(root);
    removeDir(clone);
  });

  it('runs a command on the launcher made with the runner, already in its cgroup as root, with the limit of the runner that takes it', async () => {
    // A runner with the default limit makes the launcher; another, stricter runner of the same kind takes it.
    createSandboxRunner({ writableDirs: [clone], home, env: process.env, maxProcesses: 512 });
    const [waiting] = await until(() => waitingLaunchers().length > 0 && waitingLaunchers(), 'a waiting launcher');
    const strict = createSandboxRunner({ writableDirs: [clone], home, env: process.env, maxProcesses: 32 });
    if (strict.processLimit === 'cgroup') {
      // Already in a pids cgroup of its own, before any command.
      expect(readFileSync(`/proc/${waiting}/cgroup`, 'utf8')).toMatch(/pids:\/slipway-\d+-\d+-\d+$/m);
    }
    const r = await strict.run('i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); echo $i > started; done; echo ALL-STARTED', { cwd: clone, timeoutMs: 30_000 });
    expect(existsSync(`/proc/${waiting}`)).toBe(false); // it ran the command, and is gone with it
    if (strict.processLimit !== 'none') {
      expect(r.output).not.toContain('ALL-STARTED');
      expect(Number(readFileSync(join(clone, 'started'), 'utf8'))).toBeLessThanOrEqual(32);
    }
    // The next command's launcher is waiting already.
    const [next] = await until(() => waitingLaunchers().length > 0 && waitingLaunchers(), 'the next launcher');
    expect(next).not.toBe(waiting);
  });

  it('passes the command through intact, and shows it none of the launch variables', async () => {
    const runner = createSandboxRunner({ writableDirs: [clone], home, env: process.env, maxProcesses: 64 });
    const command = "printf '[%s]' 'a  b' \"c'd\" '$HOME' \"$(printf 'x\\ny')\"; cat <<'EOF'\n\nline $1 `two`\nEOF\nenv | grep -c SLIPWAY_SANDBOX_ || true";
    const r = await runner.run(command, { cwd: clone, timeoutMs: 10_000 });
    expect(r.exitCode).toBe(0);
    expect(r.output).toBe("[a  b][c'd][$HOME][x\ny]\nline $1 `two`\n0\n");
  });

  it("runs a command with this process's umask of the moment, not the one its launcher was started with", async () => {
    const before = process.umask(0o077);
    try {
      const runner = createSandboxRunner({ writableDirs: [clone], home, env: process.env, maxProcesses: 64 });
      // A command under this umask: the launcher for the next one is started under it too.
      expect((await runner.run('rm -f made; touch made; stat -c %a made', { cwd: clone, timeoutMs: 10_000 })).output).toBe('600\n');
      await until(() => waitingLaunchers().length > 0, 'a waiting launcher');
      process.umask(0o022); // as the daemon does for the next client's command
      const r = await runner.run('rm -f made; touch made; stat -c %a made', { cwd: clone, timeoutMs: 10_000 });
      expect(r.output).toBe('644\n');
    } finally {
      process.umask(before);
    }
  });

  it('times a command from its start, not from when its launcher was made', async () => {
    const runner = createSandboxRunner({ writableDirs: [clone], home, env: process.env, maxProcesses: 64 });
    await until(() => waitingLaunchers().length > 0, 'a waiting launcher');
    await new Promise((r) => setTimeout(r, 500));
    const r = await runner.run('sleep 0.1; echo done', { cwd: clone, timeoutMs: 400 });
    expect(r.timedOut).toBe(false);
    expect(r.output).toBe('done\n');
  });

  it('replaces a waiting launcher that died, and runs nothing for an aborted command', async () => {
    const runner = createSandboxRunner({ writableDirs: [clone], home, env: process.env, maxProcesses: 64 });
    const [waiting] = await until(() => waitingLaunchers().length > 0 && waitingLaunchers(), 'a waiting launcher');
    process.kill(waiting!, 'SIGKILL');
    await until(() => !existsSync(`/proc/${waiting}`), 'the launcher to die');
    const r = await runner.run('echo still-works', { cwd: clone, timeoutMs: 10_000 });
    expect(r.output).toBe('still-works\n');
    const aborted = new AbortController();
    aborted.abort();
    const skipped = await runner.run('touch ran', { cwd: clone, timeoutMs: 10_000, signal: aborted.signal });
    expect(skipped.aborted).toBe(true);
    expect(existsSync(join(clone, 'ran'))).toBe(false);
  });

  it('runs nothing when its option list is cut off before the end', async () => {
    const runner = createSandboxRunner({ writableDirs: [clone], home, env: process.env, maxProcesses: 64 });
    const full = runner.bwrapArgs('touch cut-off-ran', { cwd: clone });
    const options = full.slice(0, full.length - LAUNCH_COMMAND.length);
    const bwrap = full.length && process.env.PATH?.split(':').map((d) => join(d, 'bwrap')).find((f) => existsSync(f));
    const runWith = (given: string[]) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(bwrap as string, ['--args', '3', ...LAUNCH_COMMAND], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
        (child.stdio[3] as NodeJS.WritableStream).end(given.map((o) => `${o}\0`).join(''));
        child.on('close', resolve);
      });
    // Without the end mark (the last option), and cut inside the list: nothing runs.
    expect(options.slice(-3)).toEqual(['--setenv', 'SLIPWAY_SANDBOX_END', '1']);
    expect(await runWith(options.slice(0, -3))).toBe(125);
    expect(await runWith(options.slice(0, Math.floor(options.length / 2)))).not.toBe(0);
    expect(existsSync(join(clone, 'cut-off-ran'))).toBe(false);
    // Positive control: the whole list runs the command.
    expect(await runWith(options)).toBe(0);
    expect(existsSync(join(clone, 'cut-off-ran'))).toBe(true);
  });
});
