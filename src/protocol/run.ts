/** Runs, plans, events, decisions and pull requests: the records every front end reads. */
import type { TestCounts } from './tests.js';
import type { Usage } from './model.js';

export type RunStatus =
  | 'pending'
  | 'planning'
  | 'coding'
  | 'testing'
  | 'verifying'
  | 'shipping'
  | 'awaiting_approval'
  | 'pr_open'
  | 'escalated'
  | 'failed'
  | 'stopped';

/** Where a run rests until someone acts; `awaiting_approval` goes on when a person answers its gate. */
export const TERMINAL_STATUSES: readonly RunStatus[] = ['pr_open', 'escalated', 'failed', 'stopped', 'awaiting_approval'];

export type Phase = 'setup' | 'plan' | 'code' | 'test' | 'verify' | 'ship';

export interface Plan {
  summary: string;
  steps: string[];
  acceptance: string[];
}

export interface Decision {
  action: string;
  by: 'agent' | 'policy' | 'person';
  autonomous: boolean;
  reason: string;
  /** What the decision rested on (a rule, a test id, a command's output), when there is something to point at. */
  evidence?: string;
}

/**
 * One decision in the run's tamper-evident ledger: `hash` is sha256 of the canonical JSON of
 * `{seq, run, prev, at, decision}`, and `prev` is the previous entry's hash (64 zeros for the first).
 */
export interface LedgerEntry {
  seq: number;
  run: string;
  at: string;
  prev: string;
  hash: string;
  decision: Decision;
}

/** The length and head hash of a ledger, as kept outside the database (PR body, git note). */
export interface LedgerAnchor {
  length: number;
  head: string;
}

export interface UsageTotals extends Usage {
  costUsd: number;
  modelCalls: number;
}

export interface RunRecord {
  id: string;
  goal: string;
  repo: string;
  base: string;
  branch: string | null;
  model: string;
  status: RunStatus;
  phase: Phase | null;
  question: string | null;
  error: string | null;
  prId: string | null;
  createdAt: string;
  updatedAt: string;
  usage: UsageTotals;
  steps: number;
}

export interface NewTestEvidence {
  file: string;
  test: string;
  failedBefore: boolean;
  passedAfter: boolean;
}

export interface TestEvidence {
  command: string | null;
  /** Counts on the base commit; null when there was no test command or its output could not be parsed. */
  before: TestCounts | null;
  beforeReason?: string;
  after: TestCounts | null;
  afterReason?: string;
  newTests: NewTestEvidence[];
  /** Tests that failed after the change but passed before it. */
  newFailures: string[];
  /** Why no new test proves the change, when none does. */
  noTestReason?: string;
}

export interface CheckFinding {
  check: string;
  verdict: 'pass' | 'fail';
  evidence: string;
}

export interface Verification {
  verdict: 'pass' | 'fail';
  findings: CheckFinding[];
  /** Slipway's own checks that overrode the verifier, if any. */
  overriddenBy?: string[];
  round: number;
}

export interface PullRequest {
  id: string;
  run: string;
  status: 'open' | 'merged' | 'closed';
  title: string;
  body: string;
  branch: string;
  base: string;
  head: string;
  baseCommit: string;
  diffstat: string;
  goal: string;
  plan: Plan;
  tests: TestEvidence;
  verification: Verification;
  decisions: Decision[];
  /** The run's ledger when the pull request was opened; absent on pull requests older than the ledger. */
  ledger?: LedgerAnchor;
  /** What happened to the pull request after it opened (merge asked, approved, rejected, merged, failed), oldest first. */
  history?: PullRequestEvent[];
  usage: UsageTotals;
  createdAt: string;
}

export interface PullRequestEvent {
  at: string;
  event: 'merge_requested' | 'approved' | 'rejected' | 'merged' | 'merge_failed' | 'revision_requested' | 'revised';
  by: 'person' | 'policy' | 'slipway';
  note: string;
  gate?: string;
}

/** One line of the append-only event log; also what `--json` prints. */
export type AgentEvent =
  | { type: 'run_started'; goal: string; repo: string; base: string; model: string }
  | { type: 'phase'; phase: Phase; status: RunStatus }
  | { type: 'notice'; message: string }
  | { type: 'model_call'; role: string; step: number; inputTokens: number; outputTokens: number; costUsd: number }
  | { type: 'model_retry'; attempt: number; waitMs: number; reason: string }
  | { type: 'text'; role: string; text: string }
  | { type: 'tool_call'; role: string; step: number; tool: string; input: unknown }
  | { type: 'tool_result'; role: string; step: number; tool: string; ok: boolean; summary: string }
  | { type: 'plan'; plan: Plan }
  | { type: 'tests'; when: 'baseline' | 'after' | 'proof'; command: string; counts: TestCounts | null; reason?: string }
  | { type: 'verification'; verification: Verification }
  | { type: 'decision'; decision: Decision }
  | { type: 'escalated'; question: string }
  | { type: 'awaiting_approval'; gate: string; action: string; subject: string; waiting: boolean }
  | { type: 'gate_answered'; gate: string; status: 'approved' | 'rejected'; note?: string }
  | { type: 'pr_opened'; pr: string; branch: string }
  | { type: 'failed'; error: string }
  | { type: 'stopped'; reason: string };

export interface StoredEvent {
  seq: number;
  run: string;
  at: string;
  event: AgentEvent;
}
