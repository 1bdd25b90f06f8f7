/** Sample records for the store contract suite: one of every event, a full pull request. */
import { newId, type AgentEvent, type Gate, type NewRun, type Plan, type PullRequest } from '../protocol/index.js';

export function sampleRun(overrides: Partial<NewRun> = {}): NewRun {
  return {
    id: newId('r'),
    goal: 'Fix the off-by-one in pagination',
    repo: '/tmp/examples/shop',
    base: 'main',
    model: 'anthropic/claude-sonnet-4-5',
    ...overrides,
  };
}

export const samplePlan: Plan = {
  summary: 'Clamp the page index and add a regression test',
  steps: ['Read src/paginate.ts', 'Fix the bound', 'Add a test for the last page'],
  acceptance: ['The last page shows the remaining items', 'All tests pass'],
};

/** One event of every type, keyed by type so the compiler notices a new one. */
export const sampleEvents: { [K in AgentEvent['type']]: Extract<AgentEvent, { type: K }> } = {
  run_started: { type: 'run_started', goal: 'g', repo: '/r', base: 'main', model: 'scripted/test' },
  phase: { type: 'phase', phase: 'code', status: 'coding' },
  notice: { type: 'notice', message: 'Using npm test' },
  model_call: { type: 'model_call', role: 'coder', step: 3, inputTokens: 1200, outputTokens: 80, costUsd: 0.0042 },
  model_retry: { type: 'model_retry', attempt: 2, waitMs: 1500, reason: 'rate limited' },
  text: { type: 'text', role: 'planner', text: 'Looking at the tests first. Ünïcødé ✓ and "quotes"\n' },
  tool_call: { type: 'tool_call', role: 'coder', step: 4, tool: 'edit_file', input: { path: 'a.ts', edits: [{ old: 'x', new: 'y' }] } },
  tool_result: { type: 'tool_result', role: 'coder', step: 4, tool: 'edit_file', ok: true, summary: 'edited a.ts (+1 -1)' },
  plan: { type: 'plan', plan: samplePlan },
  tests: { type: 'tests', when: 'baseline', command: 'npm test', counts: null, reason: 'could not parse the output' },
  verification: {
    type: 'verification',
    verification: {
      verdict: 'pass',
      findings: [{ check: 'tests cover the change', verdict: 'pass', evidence: 'paginate.test.ts:40' }],
      round: 1,
    },
  },
  decision: { type: 'decision', decision: { action: 'run npm install', by: 'policy', autonomous: true, reason: 'allow rule' } },
  escalated: { type: 'escalated', question: 'Which currency should rounding use?' },
  awaiting_approval: { type: 'awaiting_approval', gate: 'g-1', action: 'exec', subject: 'npm publish', waiting: true },
  gate_answered: { type: 'gate_answered', gate: 'g-1', status: 'rejected', note: 'not yet' },
  pr_opened: { type: 'pr_opened', pr: 'pr-abcdefgh', branch: 'slipway/fix-pagination' },
  failed: { type: 'failed', error: 'model unreachable' },
  stopped: { type: 'stopped', reason: 'stopped by the user' },
};

export function samplePullRequest(run: string, overrides: Partial<PullRequest> = {}): PullRequest {
  return {
    id: newId('pr'),
    run,
    status: 'open',
    title: 'Fix the off-by-one in pagination',
    body: '## What\nClamp the page index.\n',
    branch: 'slipway/fix-pagination',
    base: 'main',
    head: 'b'.repeat(40),
    baseCommit: 'a'.repeat(40),
    diffstat: ' src/paginate.ts | 2 +-\n 1 file changed',
    goal: 'Fix the off-by-one in pagination',
    plan: samplePlan,
    tests: {
      command: 'npm test',
      before: { passed: 10, failed: 1, skipped: 0 },
      after: null,
      afterReason: 'timed out',
      newTests: [{ file: 'test/paginate.test.ts', test: 'last page', failedBefore: true, passedAfter: true }],
      newFailures: [],
    },
    verification: { verdict: 'pass', findings: [], overriddenBy: ['tests failed'], round: 2 },
    decisions: [{ action: 'open pull request', by: 'agent', autonomous: true, reason: 'all checks passed' }],
    usage: { inputTokens: 5000, outputTokens: 700, cachedInputTokens: 1200, costUsd: 0.031, modelCalls: 7 },
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

export function sampleGate(run: string, overrides: Partial<Gate> = {}): Gate {
  const now = new Date().toISOString();
  return {
    id: newId('g'),
    run,
    pr: 'pr-abcdefgh',
    action: 'merge',
    subject: 'slipway/fix-pagination into main',
    why: 'merge `*` ask, from default',
    evidence: {
      diffstat: ' src/paginate.ts | 2 +-',
      testsBefore: { passed: 2, failed: 0, skipped: 0 },
      testsAfter: { passed: 3, failed: 0, skipped: 0 },
      verdict: 'pass',
    },
    risk: { level: 'low', reason: '1 file changed, every test passes' },
    createdAt: now,
    updatedAt: now,
    status: 'pending',
    ...overrides,
  } as Gate;
}
