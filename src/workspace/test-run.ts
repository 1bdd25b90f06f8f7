/** Run a test plan through a command runner and parse what it printed. */
import type { TestPlan, TestRunResult } from '../protocol/tests.js';
import type { CommandRunner } from '../protocol/workspace.js';
import { DEFAULT_MAX_OUTPUT_BYTES, truncateText } from './output.js';
import { parseTestOutput } from './test-parse.js';

export interface RunTestsOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bytes of output kept in the result (head and tail). */
  maxOutputBytes?: number;
}

/** Output read for parsing: a big suite's per-test lines run far past what is kept for the model. */
const PARSE_BUDGET_BYTES = 4 * 1024 * 1024;

/** Runners print plain, non-interactive output when these are set. */
const TEST_ENV = { CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' };

export async function runTests(runner: CommandRunner, dir: string, plan: TestPlan, opts: RunTestsOptions): Promise<TestRunResult> {
  const result = await runner.run(plan.command, {
    cwd: dir,
    timeoutMs: opts.timeoutMs,
    env: TEST_ENV,
    maxOutputBytes: PARSE_BUDGET_BYTES,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const parsed = parseTestOutput(plan.framework, result.output);
  const kept = truncateText(result.output, opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  let reason = parsed.reason;
  if (result.timedOut) reason = `timed out after ${opts.timeoutMs} ms${reason ? `; ${reason}` : ''}`;
  else if (result.aborted) reason = `stopped before the tests finished${reason ? `; ${reason}` : ''}`;
  return {
    command: plan.command,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    counts: parsed.counts,
    ...(parsed.counts === null || result.timedOut || result.aborted ? { reason: reason ?? 'output not parsed' } : {}),
    tests: parsed.tests,
    output: kept.output,
  };
}
