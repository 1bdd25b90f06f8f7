/** `slipway doctor`: what is in place, and for what is missing or too old, how to fix it (exit 1). */
import { execFileSync } from 'node:child_process';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { cliEnv, runCli } from '../../support/cli.js';
import { removeDir, tempDir } from '../../support/repos.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const where = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();

it('says every prerequisite is in place on this machine', async () => {
  const home = tempDir();
  dirs.push(home);
  const r = await runCli(['doctor'], cliEnv(home));
  expect(r.code, r.stdout + r.stderr).toBe(0);
  for (const name of ['node', 'git', 'ripgrep', 'bubblewrap', 'parsers']) expect(r.stdout).toMatch(new RegExp(`^✓ ${name}\\b`, 'm'));
  expect(r.stdout).toMatch(/a test command ran in the sandbox/);
  expect(r.stdout).toMatch(/All prerequisites are in place\./);
});

it('names what is missing or too old, with the fix, and exits 1', async () => {
  const home = tempDir();
  const bin = tempDir();
  dirs.push(home, bin);
  // A PATH with node, a git too old, and neither ripgrep nor bubblewrap.
  symlinkSync(process.execPath, path.join(bin, 'node'));
  writeFileSync(path.join(bin, 'git'), '#!/bin/sh\necho "git version 2.17.1"\n');
  chmodSync(path.join(bin, 'git'), 0o755);
  symlinkSync(where('sh'), path.join(bin, 'sh'));
  const r = await runCli(['doctor'], cliEnv(home, { PATH: bin }));
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^✗ git\s+git version 2\.17\.1, older than 2\.20\n\s+fix: sudo apt-get install git \(2\.20 or newer\)$/m);
  expect(r.stdout).toMatch(/^✗ ripgrep\s+not found\n\s+fix: sudo apt-get install ripgrep$/m);
  expect(r.stdout).toMatch(/^✗ bubblewrap\s+not found\n\s+fix: sudo apt-get install bubblewrap$/m);
  expect(r.stdout).toMatch(/^✓ parsers\b/m);
  expect(r.stdout).toMatch(/3 problem\(s\): fix them, then run slipway doctor again\./);
});
