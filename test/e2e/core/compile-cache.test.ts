/**
 * bin/slipway.js loads the bundle with a V8 code cache: written after the first command, used by later ones,
 * rewritten when damaged, never in the way (a cache that cannot be read or written only costs the compile).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { cliEnv, runCli } from '../../support/cli.js';
import { removeDir, tempDir } from '../../support/repos.js';

let home: string;
let cache: string;
beforeEach(() => {
  home = tempDir('slipway-home-');
  cache = tempDir('slipway-compile-');
});
afterEach(() => {
  removeDir(home);
  removeDir(cache);
});

const version = (extra: Record<string, string> = {}) => runCli(['--version'], cliEnv(home, { SLIPWAY_COMPILE_CACHE: cache, ...extra }));
const files = () => readdirSync(cache).filter((f) => f.endsWith('.v8cache'));

it('writes a cache per build, Node version and subcommand, and uses it unchanged on the next start', async () => {
  const first = await version();
  expect(first.code, first.stderr).toBe(0);
  expect(files()).toEqual([expect.stringMatching(new RegExp(`^slipway-[0-9a-f]{16}-${process.version.replace(/\./g, '\\.')}-${process.arch}-other\\.v8cache$`)) as string]);
  const file = path.join(cache, files()[0]!);
  const written = statSync(file).mtimeMs;
  expect(statSync(file).size).toBeGreaterThan(10_000);

  const second = await version();
  expect(second.stdout).toBe(first.stdout);
  expect(statSync(file).mtimeMs).toBe(written); // accepted, so not written again

  const gates = await runCli(['gates'], cliEnv(home, { SLIPWAY_COMPILE_CACHE: cache }));
  expect(gates.code, gates.stderr).toBe(0);
  expect(files().sort()).toEqual([expect.stringMatching(/-gates\.v8cache$/), expect.stringMatching(/-other\.v8cache$/)]);
});

it('a damaged cache is rejected by V8 and written again; an old build\'s cache is removed', async () => {
  await version();
  const [name] = files();
  const file = path.join(cache, name!);
  writeFileSync(file, 'not a code cache');
  const stale = path.join(cache, `slipway-0123456789abcdef-${process.version}-${process.arch}-other.v8cache`);
  writeFileSync(stale, 'an older build');
  const result = await version();
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  expect(readFileSync(file, 'utf8')).not.toBe('not a code cache');
  expect(existsSync(stale)).toBe(false);
});

it('off disables it, and a cache folder that cannot be made is no error', async () => {
  const off = await version({ SLIPWAY_COMPILE_CACHE: 'off' });
  expect(off.code).toBe(0);
  expect(files()).toEqual([]);
  const blocked = path.join(cache, 'a-file');
  writeFileSync(blocked, '');
  const result = await version({ SLIPWAY_COMPILE_CACHE: path.join(blocked, 'cache') });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe('');
  // The default place is the home's cache folder.
  const defaulted = await runCli(['--version'], { ...cliEnv(home), SLIPWAY_COMPILE_CACHE: undefined });
  expect(defaulted.code).toBe(0);
  expect(readdirSync(path.join(home, 'cache', 'compile')).some((f) => f.endsWith('-other.v8cache'))).toBe(true);
});
