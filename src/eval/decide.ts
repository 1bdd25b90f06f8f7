/** SWE-bench's verdict: resolved when every FAIL_TO_PASS test passes and every PASS_TO_PASS test still does. */
import type { TestCaseResult } from '../protocol/index.js';
import type { TestGroupResult } from './result.js';

export interface Resolution {
  resolved: boolean;
  fail_to_pass: TestGroupResult;
  pass_to_pass: TestGroupResult;
}

/**
 * Only a test the runner reports as passed counts as passing: failed, skipped and missing (never run,
 * renamed, not collected) all count as failed. When a runner reports an id twice, a failure wins.
 */
export function decideResolution(results: readonly TestCaseResult[], failToPass: readonly string[], passToPass: readonly string[]): Resolution {
  const status = new Map<string, TestCaseResult['status']>();
  for (const r of results) {
    const seen = status.get(r.id);
    if (seen === 'failed') continue;
    status.set(r.id, r.status);
  }
  const group = (ids: readonly string[]): TestGroupResult => {
    const passed: string[] = [];
    const failed: string[] = [];
    for (const id of ids) (status.get(id) === 'passed' ? passed : failed).push(id);
    return { passed, failed };
  };
  const fail_to_pass = group(failToPass);
  const pass_to_pass = group(passToPass);
  return { resolved: fail_to_pass.failed.length === 0 && pass_to_pass.failed.length === 0, fail_to_pass, pass_to_pass };
}

/** A sentence saying why an instance is not resolved, naming a few of the tests. */
export function describeUnresolved(r: Resolution, note: string | undefined): string {
  const names = (ids: string[]) => ids.slice(0, 3).join(', ') + (ids.length > 3 ? ` and ${ids.length - 3} more` : '');
  const parts: string[] = [];
  if (r.fail_to_pass.failed.length) parts.push(`FAIL_TO_PASS not passing: ${names(r.fail_to_pass.failed)}`);
  if (r.pass_to_pass.failed.length) parts.push(`PASS_TO_PASS broken: ${names(r.pass_to_pass.failed)}`);
  if (note) parts.push(note);
  return parts.join('; ');
}
