/** Host-side git, run so that nothing in a repository's config or hooks can execute code of its own. */
import { execa } from 'execa';

export interface GitOptions {
  cwd: string;
  signal?: AbortSignal;
  /** Extra variables (GIT_INDEX_FILE for a temporary index, ...). */
  env?: Record<string, string>;
  /** Where to look for the git binary; defaults to this process's PATH. */
  path?: string;
  /** Return a failed result instead of throwing. */
  allowFailure?: boolean;
  input?: string;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export class GitError extends Error {
  override readonly name = 'GitError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || '(no output)'}`);
  }
}

/**
 * Overrides given on the command line beat every config file, and reach child gits (submodule
 * checks) through GIT_CONFIG_PARAMETERS. They close the ways a repository's config runs programs.
 */
export const SAFE_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.pager=cat',
  'core.editor=false',
  'core.sshCommand=false',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'diff.ignoreSubmodules=all',
  'submodule.recurse=false',
  'credential.helper=',
  'protocol.ext.allow=never',
  'gc.auto=0',
  'maintenance.auto=false',
];

/**
 * Speed, not safety: files are checked out by one worker per CPU (git 2.32 and later; an older git ignores it).
 * Writing a large tree is bound by file creation: 20,000 files took 9 s with one worker and 1.7 s with two
 * on the development VM (see "Performance" in README.md).
 */
const FAST_CONFIG: readonly string[] = ['checkout.workers=0'];

const SAFE_ARGS = [...SAFE_CONFIG, ...FAST_CONFIG].flatMap((kv) => ['-c', kv]);

/**
 * A clean environment: nothing inherited (no GIT_DIR, GIT_WORK_TREE ...), no system or global config
 * (a user's init.templateDir, commit.gpgSign or core.fsmonitor must not reach our clones), no prompts.
 */
export function gitEnv(path: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: path ?? process.env.PATH ?? '/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ASKPASS: 'false',
    SSH_ASKPASS: 'false',
    LC_ALL: 'C',
    ...extra,
  };
}

export async function git(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  const result = await execa('git', [...SAFE_ARGS, ...args], {
    cwd: opts.cwd,
    env: gitEnv(opts.path, opts.env),
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 256 * 1024 * 1024,
    ...(opts.signal ? { cancelSignal: opts.signal, forceKillAfterDelay: 2000 } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
  if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
  const exitCode = result.exitCode ?? -1;
  const out: GitResult = { stdout: String(result.stdout), stderr: String(result.stderr), exitCode };
  if (exitCode !== 0 && !opts.allowFailure) throw new GitError(args, exitCode, out.stderr || (result.message ?? ''));
  return out;
}

/** `git ... ` stdout with the trailing newline removed. */
export async function gitLine(args: readonly string[], opts: GitOptions): Promise<string> {
  return (await git(args, opts)).stdout.trim();
}
