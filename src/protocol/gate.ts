/** Approval gates: durable rows a person answers from the host; the agent can neither see nor answer them. */
import type { TestCounts } from './tests.js';

/** What a gate guards; `merge` (of a pull request into its base branch) is the first. */
export type GateAction = 'merge';

export type GateRiskLevel = 'low' | 'medium' | 'high';

export interface GateRisk {
  level: GateRiskLevel;
  /** One line: why this level. */
  reason: string;
}

/** What a person sees before answering. */
export interface GateEvidence {
  diffstat: string;
  testsBefore: TestCounts | null;
  testsAfter: TestCounts | null;
  verdict: 'pass' | 'fail';
}

export interface GateAnswer {
  by: 'person';
  note?: string;
  reason?: string;
  at: string;
}

interface GateBase {
  id: string;
  run: string;
  pr?: string;
  action: GateAction;
  /** What the action touches, for people: `slipway/x-r-1 into main`. */
  subject: string;
  /** Why a person is asked: the rule that said ask. */
  why: string;
  evidence: GateEvidence;
  risk: GateRisk;
  createdAt: string;
  updatedAt: string;
}

/**
 * A gate's state machine: pending -> approved -> done | failed, or pending -> rejected. Every state but
 * pending carries the person's answer; done and failed say what happened (the merge commit, or why not).
 */
export type Gate = GateBase &
  (
    | { status: 'pending' }
    | { status: 'approved'; answer: GateAnswer }
    | { status: 'rejected'; answer: GateAnswer }
    | { status: 'done'; answer: GateAnswer; outcome: string }
    | { status: 'failed'; answer: GateAnswer; outcome: string }
  );

export type GateStatus = Gate['status'];
