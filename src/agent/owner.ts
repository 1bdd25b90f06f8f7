/**
 * Which process is running a run: a small file in the run's folder, written when a process takes the run and
 * removed when it lets go. A run whose status says it is working but whose owner is gone crashed (a kill -9, a
 * power cut), and may be resumed; one whose owner is alive may not be taken twice.
 */
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ProcessRef {
  pid: number;
  host: string;
}

const FILE = 'owner.json';

/** Whether a process is alive (on this machine; another host's is taken to be). */
export function processAlive(ref: ProcessRef): boolean {
  if (ref.host !== os.hostname()) return true;
  if (ref.pid === process.pid) return false;
  try {
    process.kill(ref.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process that holds the run (and the file that says so), or null when none does (never taken, let go, or crashed). */
export function runOwner(workspacesDir: string, runId: string): (ProcessRef & { file: string }) | null {
  const file = path.join(workspacesDir, runId, FILE);
  try {
    const ref = JSON.parse(readFileSync(file, 'utf8')) as ProcessRef;
    return typeof ref.pid === 'number' && typeof ref.host === 'string' && processAlive(ref) ? { pid: ref.pid, host: ref.host, file } : null;
  } catch {
    return null;
  }
}

/** Takes the run for this process; the returned function lets go of it. */
export function holdRun(workspacesDir: string, runId: string): () => void {
  const dir = path.join(workspacesDir, runId);
  const file = path.join(dir, FILE);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname() } satisfies ProcessRef));
  } catch {
    return () => undefined; // no folder to write in: the run goes on, it just cannot be told from a crashed one
  }
  return () => {
    rmSync(file, { force: true });
    try {
      rmdirSync(dir); // only when nothing else of the run is left there
    } catch {
      // the run's clone or caches are still there
    }
  };
}
