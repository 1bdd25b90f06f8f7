/** Toolchains installed under the user's home, made visible (read-only) inside the sandbox. */
import { statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Env } from './env.js';
import { isInside } from './paths.js';

export interface ToolchainMounts {
  /** Existing folders, bound read-only at the same path. */
  readOnly: string[];
  /** Credential files inside those folders, hidden behind /dev/null. */
  masked: string[];
  /** Variables that point the tools at those folders and at writable caches. */
  env: Record<string, string>;
}

export interface ToolchainOptions {
  /** Writable folder for Go's build cache. */
  goCache: string;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}


/** Detect the toolchains among the usual places and the locations the environment names. */
export function detectToolchains(home: string, env: Env, opts: ToolchainOptions): ToolchainMounts {
  const readOnly: string[] = [];
  const masked: string[] = [];
  const vars: Record<string, string> = {};

  // A location from the environment could be anything (even the home itself): only folders strictly
  // inside the home or outside it entirely are bound, never the home or one of its parents.
  const add = (path: string | undefined, variable?: string, secrets: string[] = []): string | null => {
    if (!path) return null;
    const dir = resolve(path);
    if (dir === sep || isInside(home, dir) || !isDir(dir)) return null;
    if (!readOnly.includes(dir)) readOnly.push(dir);
    if (variable) vars[variable] = dir;
    for (const s of secrets) if (isFile(join(dir, s))) masked.push(join(dir, s));
    return dir;
  };
  const pick = (name: string, fallback: string): string => env[name] || join(home, fallback);

  add(pick('PYENV_ROOT', '.pyenv'), 'PYENV_ROOT');
  add(pick('CARGO_HOME', '.cargo'), 'CARGO_HOME', ['credentials', 'credentials.toml']);
  add(pick('RUSTUP_HOME', '.rustup'), 'RUSTUP_HOME');
  add(pick('NVM_DIR', '.nvm'), 'NVM_DIR');
  add(pick('SDKMAN_DIR', '.sdkman'), 'SDKMAN_DIR');
  add(join(home, '.local', 'bin'));
  // pip --user installs: the scripts in ~/.local/bin need their packages.
  add(join(home, '.local', 'lib'));
  // Maven's local repository, read-only: offline builds whose artifacts are all there work; anything
  // that must download or install into it fails. Only the repository: settings.xml may hold server
  // passwords, and ~/.m2 stays a folder of the private home where Slipway puts its own settings.xml.
  add(join(home, '.m2', 'repository'));
  const gopath = add(env.GOPATH?.split(':')[0] || join(home, 'go'));
  const modcache = env.GOMODCACHE || (gopath ? join(gopath, 'pkg', 'mod') : undefined);
  if (modcache && isDir(modcache)) {
    if (!gopath || !isInside(modcache, gopath)) add(modcache);
    vars.GOMODCACHE = resolve(modcache);
  }
  if (gopath) vars.GOPATH = gopath;

  vars.GOCACHE = opts.goCache;
  // No network in the sandbox: fail with a clear message rather than try to download a toolchain.
  vars.GOTOOLCHAIN = 'local';
  vars.PYTHONDONTWRITEBYTECODE = '1';
  vars.PIP_DISABLE_PIP_VERSION_CHECK = '1';
  return { readOnly, masked, env: vars };
}
