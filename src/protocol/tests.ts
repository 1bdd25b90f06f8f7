/** Test discovery and results, shared by workspace/ (which runs and parses) and agent/ (which judges). */

export type TestFramework =
  | 'node-test'
  | 'vitest'
  | 'jest'
  | 'mocha'
  | 'bun'
  | 'pytest'
  | 'go'
  | 'cargo'
  | 'maven'
  | 'gradle'
  | 'make'
  | 'unknown';

export interface TestPlan {
  /** Shell command run in the sandbox from the clone's root. */
  command: string;
  framework: TestFramework;
  /** Where the command came from: `config`, `package.json scripts.test`, `pytest (found tests/)` ... */
  source: string;
  /** Dependency install command, run once per clone before the first test run (null: nothing to install). */
  install: string | null;
}

/**
 * A command as one line, for messages and decisions: one that carries a here-document (an install with the pins of
 * a lockfile) shows its first line and how many lines follow.
 */
export function commandHeadline(command: string): string {
  const lines = command.trimEnd().split('\n');
  return lines.length === 1 ? command : `${lines[0]} (and ${lines.length - 1} lines of input)`;
}

export type TestStatus = 'passed' | 'failed' | 'skipped';

export interface TestCaseResult {
  /** Stable id as the runner names it: pytest node id, `TestX/sub`, node:test titles joined by " > ". */
  id: string;
  status: TestStatus;
  /** File the test lives in, when the runner says. */
  file?: string;
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export interface TestRunResult {
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** null when the runner's output could not be parsed; `reason` then says why. Never a made-up 0. */
  counts: TestCounts | null;
  reason?: string;
  tests: TestCaseResult[];
  /** Head and tail of the combined output. */
  output: string;
}
