/** Where Slipway keeps its state, and the layered configuration. The only place that reads os.homedir(). */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configSchema, HintedError, type SlipwayConfig } from '../protocol/index.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export class ConfigError extends HintedError {
  override name = 'ConfigError';
}

export function slipwayHome(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.SLIPWAY_HOME || path.join(os.homedir(), '.slipway'));
}

/**
 * Creates Slipway's folder if it is missing. A path that is a file, or a folder that cannot be written, fails
 * with what to do instead of the file system's bare error.
 */
export async function ensureHome(home: string, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    // Synchronous: microseconds, where a turn of the thread pool (busy at start-up) can take several ms.
    mkdirSync(home, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'it cannot be written here' : (error as Error).message;
    const from = env.SLIPWAY_HOME ? 'SLIPWAY_HOME' : 'the default (~/.slipway)';
    throw new ConfigError(
      `Slipway cannot use ${home} (from ${from}) as its folder: ${why}.`,
      'Set SLIPWAY_HOME to a folder Slipway can create and write to, e.g. export SLIPWAY_HOME="$HOME/.slipway".',
      { cause: error },
    );
  }
}

/** The dependency cache shared between runs: `<SLIPWAY_HOME>/cache/deps/<ecosystem>/<lockfile hash>`. */
export function dependencyCacheRoot(home: string): string {
  return path.join(home, 'cache', 'deps');
}

export function userHome(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

export function parseConfig(text: string, where: string): SlipwayConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `${where} is not valid JSON: ${(error as Error).message}.`,
      `Fix the file (see "Configuration" in README.md) or move it aside.`,
    );
  }
  const result = configSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${where} has invalid settings: ${issues}.`, `Fix the file; every key is documented under "Configuration" in README.md.`);
  }
  return result.data;
}

/** The user's config file in SLIPWAY_HOME, if any. */
export async function loadUserConfig(home: string): Promise<SlipwayConfig> {
  const file = path.join(home, 'config.json');
  const text = await readFile(file, 'utf8').catch(() => null);
  return text === null ? {} : parseConfig(text, file);
}

/**
 * The repository's `.slipway/config.json` as it is on the base commit (never the work tree or an agent's
 * branch). Missing repository or base: an empty layer; the run reports those errors itself.
 */
export async function loadRepoConfig(repo: string, base: string | undefined): Promise<SlipwayConfig> {
  const ref = base ?? 'HEAD';
  const text = await new Promise<string | null>((resolve) => {
    execFile(
      'git',
      ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', 'show', `${ref}:.slipway/config.json`],
      { cwd: repo, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout) => resolve(error ? null : stdout),
    );
  });
  return text === null ? {} : parseConfig(text, `${path.join(repo, '.slipway/config.json')} (at ${ref})`);
}
