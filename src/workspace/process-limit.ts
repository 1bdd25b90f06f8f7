/**
 * Bounding the number of processes a command may start.
 *
 * RLIMIT_NPROC (set by `ulimit` inside the sandbox) is counted per user namespace, so for a normal user
 * it bounds exactly the sandbox's processes. The kernel never applies it to processes whose real uid is
 * root outside, whatever uid they have inside a user namespace; when Slipway runs as root, a pids
 * cgroup does the job instead, where one can be created.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from './lock-file.js';

export type ProcessLimitKind = 'rlimit' | 'cgroup' | 'none';

export const DEFAULT_MAX_PROCESSES = 512;

export interface PidsCgroup {
  /** Write a pid here to move it into the group. */
  procsFile: string;
  /** Sets the most processes the group may hold. */
  limit(max: number): Promise<void>;
  /** Kill what is left in the group and remove it. */
  dispose(): Promise<void>;
}

const CGROUP_FS = '/sys/fs/cgroup';
let counter = 0;

/**
 * This process's pid namespace (the inode of /proc/self/ns/pid), part of every group's name: a pid means something
 * only in its namespace, and two containers may share one cgroup tree. Null when it cannot be read.
 */
function pidNamespace(): string | null {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
  } catch {
    return null;
  }
}
const PID_NS = pidNamespace();

/** Where pids cgroups can be made: the v1 pids hierarchy, or the v2 root; null when neither is writable. */
export function pidsCgroupParent(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const v1 = join(CGROUP_FS, 'pids');
  if (existsSync(join(v1, 'cgroup.procs'))) return v1;
  try {
    const controllers = readFileSync(join(CGROUP_FS, 'cgroup.subtree_control'), 'utf8');
    if (controllers.split(/\s+/).includes('pids')) return CGROUP_FS;
  } catch {
    // not cgroup v2, or not readable
  }
  return null;
}

export function processLimitKind(cgroupParent: string | null): ProcessLimitKind {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'rlimit';
  return cgroupParent ? 'cgroup' : 'none';
}

/** A fresh pids cgroup limited to `max` processes, or null when it cannot be made. */
export async function createPidsCgroup(parent: string, max: number): Promise<PidsCgroup | null> {
  const dir = join(parent, `slipway-${PID_NS ?? 'x'}-${process.pid}-${++counter}`);
  try {
    await mkdir(dir);
  } catch {
    return null;
  }
  try {
    await writeFile(join(dir, 'pids.max'), String(max));
  } catch {
    await rmdir(dir).catch(() => undefined);
    return null;
  }
  const procsFile = join(dir, 'cgroup.procs');
  return { procsFile, limit: (n) => writeFile(join(dir, 'pids.max'), String(n)), dispose: () => killAndRemove(dir) };
}

/** Kills what is left in a pids cgroup and removes it (a group with processes cannot be removed: try again). */
async function killAndRemove(dir: string): Promise<void> {
  const procsFile = join(dir, 'cgroup.procs');
  for (let attempt = 0; attempt < 100; attempt++) {
    const pids = (await readFile(procsFile, 'utf8').catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((n) => n > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

let lastReap = 0;

/** reapOrphanedCgroups at most once a minute, in the background (a long-lived daemon makes many runners). */
export function reapOrphanedCgroupsThrottled(parent: string): void {
  if (Date.now() - lastReap < 60_000) return;
  lastReap = Date.now();
  void reapOrphanedCgroups(parent).catch(() => undefined);
}

/**
 * Sandboxes left by a Slipway process that died without cleaning up (kill -9, a crash): their groups, named for
 * an owner pid of this pid namespace that no longer runs, are killed and removed. bubblewrap's --die-with-parent
 * covers most of them, but not a sandbox whose set-up was under way when its parent died. Returns how many.
 */
export async function reapOrphanedCgroups(parent: string): Promise<number> {
  if (!PID_NS) return 0;
  const names = await readdir(parent).catch(() => [] as string[]);
  let reaped = 0;
  for (const name of names) {
    const m = /^slipway-(\d+)-(\d+)-\d+$/.exec(name);
    if (!m || m[1] !== PID_NS || Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    await killAndRemove(join(parent, name));
    reaped++;
  }
  return reaped;
}

/** sh snippet run first inside the sandbox: dash spells the process limit -p, bash -u. */
export function rlimitPrelude(max: number): string {
  const n = Math.max(1, Math.floor(max));
  return `ulimit -u ${n} 2>/dev/null || ulimit -p ${n} 2>/dev/null; ulimit -c 0 2>/dev/null;`;
}
