/**
 * Slipway's own judgement of a change from three test runs: the base commit (baseline), the base commit with
 * only the test changes applied (proof), and the whole change (after). These checks override any verdict.
 */
import type { NewTestEvidence, TestCaseResult, TestEvidence, TestRunResult } from '../protocol/index.js';

export interface EvidenceInput {
  command: string | null;
  baseline: TestRunResult | null;
  after: TestRunResult | null;
  proof: TestRunResult | null;
  /** Test files the change added or modified (not deleted). */
  changedTestFiles: string[];
  noTestReason?: string;
}

export interface Judgement {
  evidence: TestEvidence;
  /** What is wrong, in words the coder can act on; empty when the change may ship. */
  problems: string[];
}

export function judge(input: EvidenceInput): Judgement {
  const { baseline, after, proof } = input;
  const problems: string[] = [];
  const base = index(baseline);
  const afterIx = index(after);
  const proofIx = index(proof);

  const newTests: NewTestEvidence[] = [];
  if (after && input.changedTestFiles.length > 0) {
    for (const t of after.tests) {
      // New: absent on the base commit. Changed: passed there, fails with only the test change applied.
      // (An existing test edited so that it still passes there cannot be told from an untouched one.)
      const isNew = !base.has(t.id);
      const caughtByProof = base.get(t.id)?.status === 'passed' && proofIx.get(t.id)?.status !== 'passed';
      if (!isNew && !caughtByProof) continue;
      if (t.status === 'skipped') continue;
      newTests.push({
        file: fileOf(t, input.changedTestFiles),
        test: t.id,
        failedBefore: proofIx.get(t.id)?.status !== 'passed',
        passedAfter: t.status === 'passed',
      });
    }
  }

  const newFailures: string[] = [];
  if (after && after.counts) {
    for (const [id, t] of base) {
      if (t.status !== 'passed') continue;
      const now = afterIx.get(id);
      if (!now || now.status === 'failed') newFailures.push(id);
    }
  }
  if (after && baseline && baseline.exitCode === 0 && after.exitCode !== 0 && newFailures.length === 0) {
    newFailures.push(`the test command (it exited 0 before the change and ${after.exitCode ?? 'no code'} after)`);
  }
  if (after?.timedOut) problems.push(`The test command timed out after the change.`);

  if (newFailures.length > 0) {
    problems.push(`These tests passed before your change and fail now: ${newFailures.join(', ')}. Fix them.`);
  }
  for (const t of newTests) {
    if (!t.failedBefore) {
      problems.push(
        `The test "${t.test}" passes on the base commit without your change, so it does not catch the bug. Make it fail without the fix.`,
      );
    }
    if (!t.passedAfter) problems.push(`The new test "${t.test}" does not pass with your change.`);
  }
  if (input.command && newTests.length === 0 && !input.noTestReason) {
    problems.push(
      input.changedTestFiles.length > 0
        ? `You changed test files (${input.changedTestFiles.join(', ')}) but no test result in them could be identified after the change; make sure the tests run and pass with the test command.`
        : `No test was added or changed. Add a test that fails without your change and passes with it, or call finish with no_test_reason saying why no test can show it.`,
    );
  }

  return {
    evidence: {
      command: input.command,
      before: baseline?.counts ?? null,
      ...(baseline && !baseline.counts ? { beforeReason: baseline.reason ?? 'output not parsed' } : {}),
      after: after?.counts ?? null,
      ...(after && !after.counts ? { afterReason: after.reason ?? 'output not parsed' } : {}),
      newTests,
      newFailures,
      ...(newTests.length === 0 && input.noTestReason ? { noTestReason: input.noTestReason } : {}),
    },
    problems,
  };
}

function index(run: TestRunResult | null): Map<string, TestCaseResult> {
  return new Map((run?.tests ?? []).map((t) => [t.id, t]));
}

/** The runner's file when it names one; else the changed test file the id names; else the only one. */
function fileOf(t: TestCaseResult, changed: string[]): string {
  const norm = (p: string) => p.replace(/^\.\//, '');
  if (t.file) return changed.find((f) => norm(t.file!).endsWith(norm(f))) ?? norm(t.file);
  return changed.find((f) => t.id.includes(f)) ?? (changed.length === 1 ? changed[0]! : changed.join(', '));
}
