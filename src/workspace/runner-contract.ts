/** The behaviour every CommandRunner shares (sandboxed or not): one suite, run against each. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../protocol/workspace.js';
import { removeDir, tempDir } from './test-helpers.js';

export function describeRunnerContract(name: string, make: (writableDir: string) => CommandRunner): void {
  describe(`${name} runner contract`, () => {
    let dir = '';
    let runner: CommandRunner;
    beforeAll(() => {
      dir = tempDir('slipway-runner-');
      runner = make(dir);
    });
    afterAll(() => removeDir(dir));

    it('runs a shell command in the given folder and reports its exit code and both streams', async () => {
      const r = await runner.run('echo out; echo err >&2; pwd; exit 3', { cwd: dir, timeoutMs: 10_000 });
      expect(r.exitCode).toBe(3);
      expect(r.signal).toBeNull();
      expect(r.timedOut).toBe(false);
      expect(r.aborted).toBe(false);
      expect(r.truncated).toBe(false);
      expect(r.output).toContain('out\n');
      expect(r.output).toContain('err\n');
      expect(r.output).toContain(`${dir}\n`);
    });

    it('writes files into the writable folder', async () => {
      const r = await runner.run('echo made > made.txt && cat made.txt', { cwd: dir, timeoutMs: 10_000 });
      expect(r.exitCode).toBe(0);
      expect(readFileSync(join(dir, 'made.txt'), 'utf8')).toBe('made\n');
    });

    it('passes extra variables but never secret-looking ones', async () => {
      const r = await runner.run('env', { cwd: dir, timeoutMs: 10_000, env: { EXTRA_SETTING: 'yes', FAKE_API_KEY: 'sk-canary' } });
      expect(r.output).toContain('EXTRA_SETTING=yes');
      expect(r.output).not.toContain('sk-canary');
    });

    it('keeps head and tail of long output, with a marker between', async () => {
      const r = await runner.run('echo START; i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done; echo END', {
        cwd: dir,
        timeoutMs: 20_000,
        maxOutputBytes: 4096,
      });
      expect(r.exitCode).toBe(0);
      expect(r.truncated).toBe(true);
      expect(r.output.startsWith('START\nline-0\n')).toBe(true);
      expect(r.output.endsWith('line-19999\nEND\n')).toBe(true);
      expect(r.output).toMatch(/\n… \[\d+ bytes omitted\] …\n/);
      expect(r.output.length).toBeLessThan(4096 + 100);
    });

    it('truncates endless output and stops it at the time limit', async () => {
      const r = await runner.run('yes', { cwd: dir, timeoutMs: 1000, maxOutputBytes: 8192 });
      expect(r.timedOut).toBe(true);
      expect(r.truncated).toBe(true);
      expect(r.output.startsWith('y\ny\n')).toBe(true);
      expect(r.output.endsWith('y\n')).toBe(true);
      expect(r.output.length).toBeLessThan(8192 + 100);
    });

    it('kills the whole process tree promptly on timeout', async () => {
      const marker = join(dir, 'survivor');
      const started = Date.now();
      const r = await runner.run(`(sleep 1; touch ${marker}) & sleep 100`, { cwd: dir, timeoutMs: 300 });
      expect(r.timedOut).toBe(true);
      expect(r.exitCode).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(3000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(existsSync(marker)).toBe(false);
    });

    it('stops when aborted, and does not start when already aborted', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const started = Date.now();
      const r = await runner.run('sleep 100', { cwd: dir, timeoutMs: 60_000, signal: controller.signal });
      expect(r.aborted).toBe(true);
      expect(r.timedOut).toBe(false);
      expect(Date.now() - started).toBeLessThan(3000);
      const again = await runner.run('echo never', { cwd: dir, timeoutMs: 10_000, signal: controller.signal });
      expect(again.aborted).toBe(true);
      expect(again.output).toBe('');
    });
  });
}
