/**
 * bwrap started ahead of its command. As root, every sandboxed command runs in a fresh pids cgroup, and moving a
 * process into a cgroup waits for a kernel RCU grace period: 10–15 ms on the development VM, for each command,
 * against about 15 ms for all of bwrap's own set-up. A launcher pays that (and the fork and exec of bwrap) ahead:
 * it is a process already in its cgroup, bwrap blocked reading its options from a pipe (`--args 3`). The command
 * line after the options is fixed (LAUNCH_COMMAND); the command itself travels with the options, as variables the
 * launch script reads and unsets before it runs the command.
 *
 * One launcher waits per bwrap and cgroup parent; the next is started once a command that took one is over, and
 * one left unused goes after a minute. Launchers never keep this process alive, and die with it.
 */
import { readFileSync } from 'node:fs';
import { createPidsCgroup, type PidsCgroup } from './process-limit.js';
import { launch, type Launched } from './spawn.js';

/** The last of the options: the launch script runs the command only when it is there, so a cut-off list runs nothing. */
const END_VAR = 'SLIPWAY_SANDBOX_END';
const LAUNCH_VAR = 'SLIPWAY_SANDBOX_LAUNCH';
const COMMAND_VAR = 'SLIPWAY_SANDBOX_COMMAND';
const FORWARDER_VAR = 'SLIPWAY_SANDBOX_FORWARDER';

/** bwrap's argv after the options (which come through `--args`). */
export const LAUNCH_COMMAND = ['--', '/bin/sh', '-c', `[ "$${END_VAR}" = 1 ] || exit 125; eval "$${LAUNCH_VAR}"`, 'slipway-sandbox'];

/**
 * The options that end bwrap's list: the command, the script that runs it after `prelude` (with the command as
 * $1 and the forwarder, when there is one, as $2), and the end mark. The script sets this process's umask as it
 * is now: a launcher inherited the one of the moment it was started (in the daemon, an earlier command's).
 */
export function launchOptions(command: string, prelude: string, forwarder: string | null): string[] {
  const positional = forwarder === null ? `"$${COMMAND_VAR}"` : `"$${COMMAND_VAR}" "$${FORWARDER_VAR}"`;
  const umask = `umask ${process.umask().toString(8).padStart(4, '0')};`;
  const script = `set -- ${positional}; unset ${END_VAR} ${LAUNCH_VAR} ${COMMAND_VAR} ${FORWARDER_VAR}; ${umask} ${prelude} exec /bin/sh -c "$1"`;
  return [
    '--setenv', COMMAND_VAR, command,
    ...(forwarder === null ? [] : ['--setenv', FORWARDER_VAR, forwarder]),
    '--setenv', LAUNCH_VAR, script,
    '--setenv', END_VAR, '1',
  ];
}

export interface LauncherSpec {
  bwrap: string;
  /** Where pids cgroups are made; null: none (not root, or no usable cgroup). */
  cgroupParent: string | null;
  maxProcesses: number;
}

const LAUNCH_ENV = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };
const IDLE_MS = 60_000;
/** The wrapper joins the cgroup before exec'ing bwrap, so every sandbox process is counted. */
const JOIN_CGROUP = 'echo $$ > "$0" || exit 125; exec "$@"';

type Handle = { ref?(): void; unref?(): void };

export class Launcher {
  private constructor(
    readonly child: Launched,
    /** Its pids cgroup (as root), already joined; removed by release(). */
    readonly cgroup: PidsCgroup | null,
    private max: number,
  ) {}

  /** Why the process could not be started, when it could not. */
  failure: Error | undefined;

  /** A cgroup made (as root; without one when it cannot be) and joined, bwrap waiting for its options. */
  static async start(spec: LauncherSpec): Promise<Launcher> {
    const cgroup = spec.cgroupParent ? await createPidsCgroup(spec.cgroupParent, spec.maxProcesses) : null;
    const args = ['--args', '3', ...LAUNCH_COMMAND];
    const file = cgroup ? '/bin/sh' : spec.bwrap;
    const argv = cgroup ? ['-c', JOIN_CGROUP, cgroup.procsFile, spec.bwrap, ...args] : args;
    const child = launch({ file, args: argv, cwd: '/', env: LAUNCH_ENV }, { input: true });
    const launcher = new Launcher(child, cgroup, spec.maxProcesses);
    // No bwrap: the pid is missing at once; the error comes a moment later, for the message.
    child.on('error', (error) => (launcher.failure ??= error));
    return launcher;
  }

  /** Still waiting for its options: running, and not a process that died a moment ago (a zombie not yet reaped). */
  get usable(): boolean {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }

  /** Whether it keeps this process alive (a waiting one must not). */
  hold(held: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stderr, this.child.input] as Array<Handle | null>) {
      if (held) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  /** The most processes the command may have (a runner may ask for another number than the launcher was made with). */
  async limit(max: number): Promise<void> {
    if (!this.cgroup || max === this.max) return;
    await this.cgroup.limit(max);
    this.max = max;
  }

  /** Hands bwrap its options: from then on it sets the sandbox up and runs the command. */
  start(options: readonly string[]): void {
    this.hold(true);
    this.child.input?.end(options.map((o) => `${o}\0`).join(''));
  }

  /** Kills what is left of it (a launcher that ran its command has had its group killed already) and removes its cgroup. */
  async release(): Promise<void> {
    // Once reaped, its pid may be another process's: only a process still running is killed here.
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.cgroup?.dispose();
  }
}

interface Waiting {
  launcher: Promise<Launcher | null>;
  idle: NodeJS.Timeout;
}
const waiting = new Map<string, Waiting>();
const keyOf = (spec: LauncherSpec): string => `${spec.bwrap}\0${spec.cgroupParent ?? ''}`;

/** Has a launcher wait for the next command of this kind, unless one does already. */
export function parkLauncher(spec: LauncherSpec): void {
  const key = keyOf(spec);
  if (waiting.has(key)) return;
  const launcher = Launcher.start(spec).then(
    (l) => {
      l.hold(false);
      return l;
    },
    () => null,
  );
  const idle = setTimeout(() => {
    if (waiting.get(key)?.launcher !== launcher) return;
    waiting.delete(key);
    void launcher.then((l) => l?.release());
  }, IDLE_MS);
  idle.unref();
  waiting.set(key, { launcher, idle });
}

/** A launcher for one command: the one waiting if it is still alive, else a new one. */
export async function takeLauncher(spec: LauncherSpec): Promise<Launcher> {
  const key = keyOf(spec);
  const parked = waiting.get(key);
  waiting.delete(key);
  if (parked) {
    clearTimeout(parked.idle);
    const launcher = await parked.launcher;
    if (launcher?.usable && (await launcher.limit(spec.maxProcesses).then(() => true, () => false))) return launcher;
    await launcher?.release();
  }
  return Launcher.start(spec);
}
