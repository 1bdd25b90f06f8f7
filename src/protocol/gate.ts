/** Approval gates: durable rows a person answers from the host; the agent can neither see nor answer them. */
import { POLICY_KINDS } from './policy.js';
import type { Plan } from './run.js';
import type { TestCounts } from './tests.js';

/**
 * What a gate guards: an action of a policy kind that a rule answered `ask` (`merge` of a pull request into its
 * base, `exec` of a command, `write` of a file, ...), or `plan`: a run's plan, when the person asked to see it
 * before any code is written (--approve-plan).
 */
export const GATE_ACTIONS = [...POLICY_KINDS, 'plan'] as const;
export type GateAction = (typeof GATE_ACTIONS)[number];

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
  /** The verifier's verdict; null before there is one (a plan, a command mid-run). */
  verdict: 'pass' | 'fail' | null;
  /** The plan a plan gate asks about. */
  plan?: Plan;
  /** What exactly would happen: the command line, the file and why. */
  detail?: string;
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
  /**
   * The process that blocks on this gate (`slipway run --wait`): it goes on by itself once the gate is
   * answered. Absent: nobody waits, and approving or rejecting continues the run in the answering process.
   */
  waiter?: { pid: number; host: string };
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
