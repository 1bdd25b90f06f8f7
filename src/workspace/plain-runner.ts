/** The unsandboxed runner (--no-sandbox): same interface and limits, none of the isolation. */
import { isAbsolute, join, relative } from 'node:path';
import type { CommandOptions, CommandResult, CommandRunner } from '../protocol/workspace.js';
import { stripEnv, type Env } from './env.js';
import { DEFAULT_MAX_PROCESSES, rlimitPrelude } from './process-limit.js';
import { isInside } from './paths.js';
import { spawnCollect } from './spawn.js';

export interface PlainRunnerOptions {
  /** Accepted for symmetry with the sandbox; nothing stops writes elsewhere. */
  writableDirs?: string[];
  /**
   * As for the sandbox; without one, paths cannot be shown elsewhere, so a cwd under `seenAs` runs in the same
   * place under the first writable folder instead (absolute paths an install wrote still lead to the clone).
   */
  seenAs?: string;
  home: string;
  env: Env;
  network?: boolean;
  maxProcesses?: number;
}

export function createPlainRunner(opts: PlainRunnerOptions): CommandRunner & { readonly kind: 'none' } {
  const maxProcesses = opts.maxProcesses ?? DEFAULT_MAX_PROCESSES;
  return {
    kind: 'none',
    run(command: string, options: CommandOptions): Promise<CommandResult> {
      if (!isAbsolute(options.cwd)) throw new Error(`cwd must be absolute: ${options.cwd}`);
      const shown = opts.seenAs;
      const real = opts.writableDirs?.[0];
      const cwd = shown && real && isInside(options.cwd, shown) ? join(real, relative(shown, options.cwd)) : options.cwd;
      // Secrets are still kept out of the environment: the commands come from a model.
      const env = { ...stripEnv(opts.env), HOME: opts.home, ...stripEnv({}, options.env ?? {}) };
      return spawnCollect(
        {
          file: '/bin/sh',
          args: ['-c', `${rlimitPrelude(maxProcesses)} exec /bin/sh -c "$1"`, 'slipway-command', command],
          cwd,
          env,
        },
        options,
      );
    },
  };
}
