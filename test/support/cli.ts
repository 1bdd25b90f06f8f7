/** Runs the built CLI (dist/) as a user would, in a child process with its own SLIPWAY_HOME. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { afterAll } from 'vitest';
import { ROOT } from './repos.js';

/** A private compile cache for the test file's CLI runs (not a shared /tmp path another user could plant). */
const COMPILE_CACHE = mkdtempSync(path.join(os.tmpdir(), 'slipway-test-compile-'));
afterAll(() => rmSync(COMPILE_CACHE, { recursive: true, force: true }));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON lines (lines that are not JSON are an error in --json mode). */
  json: Array<Record<string, unknown>>;
}

/** The environment a test CLI gets: no real keys, a private SLIPWAY_HOME. */
export function cliEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // One compile cache for the test file's runs (bin/slipway.js), instead of one written into every test's home.
  const env: NodeJS.ProcessEnv = { ...process.env, SLIPWAY_HOME: home, NODE_EXTRA_CA_CERTS: undefined, SLIPWAY_COMPILE_CACHE: COMPILE_CACHE };
  for (const key of Object.keys(env)) if (/^(ANTHROPIC|OPENAI)_/.test(key)) delete env[key];
  return { ...env, ...extra };
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { onSpawn?: (pid: number) => void; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'slipway.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    if (child.pid) opts.onSpawn?.(child.pid);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const json = stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return { __notJson: l };
          }
        });
      resolve({ code, stdout, stderr, json });
    });
  });
}
