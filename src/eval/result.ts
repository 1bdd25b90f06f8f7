/** What one instance's evaluation produced: kept as `<out>/<instance_id>/result.json` as soon as it is known. */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunStatus } from '../protocol/index.js';

export type InstanceStatus = 'resolved' | 'unresolved' | 'empty_patch' | 'error';

export interface TestGroupResult {
  passed: string[];
  /** Failed, skipped or missing from the runner's results. */
  failed: string[];
}

export interface HarnessTests {
  command: string;
  fail_to_pass: TestGroupResult;
  pass_to_pass: TestGroupResult;
  counts: { passed: number; failed: number; skipped: number } | null;
  /** Why the runner's output gave no results, or that it timed out. */
  note?: string;
}

export interface SlipwayNewTest {
  test: string;
  file: string;
  failed_before: boolean;
  passed_after: boolean;
}

export interface InstanceResult {
  instance_id: string;
  status: InstanceStatus;
  /** Why it is not resolved (every status but `resolved`). */
  reason?: string;
  run: {
    id: string;
    status: Extract<RunStatus, 'pr_open' | 'escalated' | 'failed' | 'stopped' | 'awaiting_approval'>;
    pr: string | null;
    branch: string | null;
    question?: string;
    error?: string;
  } | null;
  steps: number;
  tokens: { input: number; output: number; cached: number };
  dollars: number;
  /** Seconds: the agent's run, and the whole instance (checkout, run, harness). */
  run_seconds: number;
  wall_seconds: number;
  escalations: number;
  /**
   * Slipway's own proof of the tests it added, from the pull request (null without one: an escalated run
   * keeps no structured test evidence). `proven`: every new test failed before the change and passed after.
   */
  slipway_tests: { proven: boolean; new_tests: SlipwayNewTest[] } | null;
  /** The harness's test run on the patched tree; null when it never ran. */
  tests: HarnessTests | null;
  /** Files under the instance's folder, relative to it. */
  files: { patch?: string; transcript?: string; test_output?: string };
  model_patch: string;
  finished_at: string;
}

export const RESULT_FILE = 'result.json';

export function instanceDir(out: string, id: string): string {
  return path.join(out, id);
}

/** Writes atomically (temp file, then rename): an interrupted write never leaves a half result behind. */
export async function saveResult(out: string, result: InstanceResult): Promise<void> {
  const file = path.join(instanceDir(out, result.instance_id), RESULT_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
  await rename(tmp, file);
}

/** A finished instance's result, or null when there is none (or it is unreadable: the instance is redone). */
export async function loadResult(out: string, id: string): Promise<InstanceResult | null> {
  const text = await readFile(path.join(instanceDir(out, id), RESULT_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<InstanceResult>;
    return parsed.instance_id === id && typeof parsed.status === 'string' ? (parsed as InstanceResult) : null;
  } catch {
    return null;
  }
}

/** A result for an instance that never reached the agent (bad line, missing commit, unreachable repository). */
export function errorResult(id: string, reason: string, extra: Partial<InstanceResult> = {}): InstanceResult {
  return {
    instance_id: id,
    status: 'error',
    reason,
    run: null,
    steps: 0,
    tokens: { input: 0, output: 0, cached: 0 },
    dollars: 0,
    run_seconds: 0,
    wall_seconds: 0,
    escalations: 0,
    slipway_tests: null,
    tests: null,
    files: {},
    model_patch: '',
    finished_at: new Date().toISOString(),
    ...extra,
  };
}
