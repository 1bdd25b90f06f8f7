/**
 * zod schemas of the records a store keeps as JSON, so a row that was damaged or hand-edited fails with a
 * clear error instead of flowing on as garbage. Each schema is checked at compile time to match its
 * protocol type exactly: a change in protocol/run.ts breaks the build here until the schema follows.
 */
import { z } from 'zod';
import type {
  AgentEvent,
  Decision,
  Gate,
  Phase,
  Plan,
  PullRequest,
  RunStatus,
  SavedConversation,
  TestCounts,
  UsageTotals,
} from '../protocol/index.js';
import { GATE_ACTIONS } from '../protocol/index.js';

/** True when A and B are assignable both ways; used only in the compile-time checks below. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function assertSame<_A, _B>(_same: Same<_A, _B>): void {}

const count = z.number().int().nonnegative();

export const runStatusSchema = z.enum([
  'pending',
  'planning',
  'coding',
  'testing',
  'verifying',
  'shipping',
  'awaiting_approval',
  'pr_open',
  'escalated',
  'failed',
  'stopped',
]);
assertSame<z.infer<typeof runStatusSchema>, RunStatus>(true);

export const phaseSchema = z.enum(['setup', 'plan', 'code', 'test', 'verify', 'ship']);
assertSame<z.infer<typeof phaseSchema>, Phase>(true);

export const planSchema = z.object({
  summary: z.string(),
  steps: z.array(z.string()),
  acceptance: z.array(z.string()),
});
assertSame<z.infer<typeof planSchema>, Plan>(true);

export const decisionSchema = z.object({
  action: z.string(),
  by: z.enum(['agent', 'policy', 'person']),
  autonomous: z.boolean(),
  reason: z.string(),
  evidence: z.string().optional(),
});
assertSame<z.infer<typeof decisionSchema>, Decision>(true);

export const usageTotalsSchema = z.object({
  inputTokens: count,
  outputTokens: count,
  cachedInputTokens: count,
  costUsd: z.number().nonnegative(),
  modelCalls: count,
});
assertSame<z.infer<typeof usageTotalsSchema>, UsageTotals>(true);

const testCountsSchema = z.object({ passed: count, failed: count, skipped: count });
assertSame<z.infer<typeof testCountsSchema>, TestCounts>(true);

const verificationSchema = z.object({
  verdict: z.enum(['pass', 'fail']),
  findings: z.array(z.object({ check: z.string(), verdict: z.enum(['pass', 'fail']), evidence: z.string() })),
  overriddenBy: z.array(z.string()).optional(),
  round: count,
});

export const pullRequestSchema = z.object({
  id: z.string(),
  run: z.string(),
  status: z.enum(['open', 'merged', 'closed']),
  title: z.string(),
  body: z.string(),
  branch: z.string(),
  base: z.string(),
  head: z.string(),
  baseCommit: z.string(),
  diffstat: z.string(),
  goal: z.string(),
  plan: planSchema,
  tests: z.object({
    command: z.string().nullable(),
    before: testCountsSchema.nullable(),
    beforeReason: z.string().optional(),
    after: testCountsSchema.nullable(),
    afterReason: z.string().optional(),
    newTests: z.array(
      z.object({ file: z.string(), test: z.string(), failedBefore: z.boolean(), passedAfter: z.boolean() }),
    ),
    newFailures: z.array(z.string()),
    noTestReason: z.string().optional(),
  }),
  verification: verificationSchema,
  decisions: z.array(decisionSchema),
  ledger: z.object({ length: count, head: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  history: z
    .array(
      z.object({
        at: z.string(),
        event: z.enum(['merge_requested', 'approved', 'rejected', 'merged', 'merge_failed', 'revision_requested', 'revised']),
        by: z.enum(['person', 'policy', 'slipway']),
        note: z.string(),
        gate: z.string().optional(),
      }),
    )
    .optional(),
  usage: usageTotalsSchema,
  createdAt: z.string(),
});
assertSame<z.infer<typeof pullRequestSchema>, PullRequest>(true);

const gateAnswerSchema = z.object({
  by: z.literal('person'),
  note: z.string().optional(),
  reason: z.string().optional(),
  at: z.string(),
});

const gateBaseSchema = z.object({
  id: z.string(),
  run: z.string(),
  pr: z.string().optional(),
  action: z.enum(GATE_ACTIONS),
  subject: z.string(),
  why: z.string(),
  evidence: z.object({
    diffstat: z.string(),
    testsBefore: testCountsSchema.nullable(),
    testsAfter: testCountsSchema.nullable(),
    verdict: z.enum(['pass', 'fail']).nullable(),
    plan: planSchema.optional(),
    detail: z.string().optional(),
  }),
  waiter: z.object({ pid: z.number().int(), host: z.string() }).optional(),
  risk: z.object({ level: z.enum(['low', 'medium', 'high']), reason: z.string() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const gateSchema = z.discriminatedUnion('status', [
  gateBaseSchema.extend({ status: z.literal('pending') }),
  gateBaseSchema.extend({ status: z.literal('approved'), answer: gateAnswerSchema }),
  gateBaseSchema.extend({ status: z.literal('rejected'), answer: gateAnswerSchema }),
  gateBaseSchema.extend({ status: z.literal('done'), answer: gateAnswerSchema, outcome: z.string() }),
  gateBaseSchema.extend({ status: z.literal('failed'), answer: gateAnswerSchema, outcome: z.string() }),
]);
assertSame<z.infer<typeof gateSchema>, Gate>(true);

const toolCallSchema = z.object({ id: z.string(), name: z.string(), input: z.unknown(), inputError: z.string().optional() });
const toolResultSchema = z.object({ callId: z.string(), name: z.string(), output: z.string(), isError: z.boolean().optional() });
export const conversationSchema = z.object({
  role: z.enum(['planner', 'coder']),
  messages: z.array(
    z.discriminatedUnion('role', [
      z.object({ role: z.literal('user'), content: z.string() }),
      z.object({ role: z.literal('assistant'), content: z.string(), toolCalls: z.array(toolCallSchema).optional() }),
      z.object({ role: z.literal('tool'), results: z.array(toolResultSchema) }),
    ]),
  ),
  results: z.array(toolResultSchema),
});
assertSame<z.infer<typeof conversationSchema>, SavedConversation>(true);

export const agentEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run_started'), goal: z.string(), repo: z.string(), base: z.string(), model: z.string() }),
  z.object({ type: z.literal('phase'), phase: phaseSchema, status: runStatusSchema }),
  z.object({ type: z.literal('notice'), message: z.string() }),
  z.object({
    type: z.literal('model_call'),
    role: z.string(),
    step: count,
    inputTokens: count,
    outputTokens: count,
    costUsd: z.number().nonnegative(),
  }),
  z.object({ type: z.literal('model_retry'), attempt: count, waitMs: z.number().nonnegative(), reason: z.string() }),
  z.object({ type: z.literal('text'), role: z.string(), text: z.string() }),
  z.object({ type: z.literal('tool_call'), role: z.string(), step: count, tool: z.string(), input: z.unknown() }),
  z.object({
    type: z.literal('tool_result'),
    role: z.string(),
    step: count,
    tool: z.string(),
    ok: z.boolean(),
    summary: z.string(),
  }),
  z.object({ type: z.literal('plan'), plan: planSchema }),
  z.object({
    type: z.literal('tests'),
    when: z.enum(['baseline', 'after', 'proof']),
    command: z.string(),
    counts: testCountsSchema.nullable(),
    reason: z.string().optional(),
  }),
  z.object({ type: z.literal('verification'), verification: verificationSchema }),
  z.object({ type: z.literal('decision'), decision: decisionSchema }),
  z.object({ type: z.literal('escalated'), question: z.string() }),
  z.object({ type: z.literal('awaiting_approval'), gate: z.string(), action: z.string(), subject: z.string(), waiting: z.boolean() }),
  z.object({ type: z.literal('gate_answered'), gate: z.string(), status: z.enum(['approved', 'rejected']), note: z.string().optional() }),
  z.object({ type: z.literal('pr_opened'), pr: z.string(), branch: z.string() }),
  z.object({ type: z.literal('failed'), error: z.string() }),
  z.object({ type: z.literal('stopped'), reason: z.string() }),
]);
assertSame<z.infer<typeof agentEventSchema>, AgentEvent>(true);

/**
 * Checks a value read back from storage and returns it unchanged. The original (not zod's copy) is
 * returned on purpose: zod strips keys it does not know, and a field added to the protocol but not yet
 * here should pass through, not vanish.
 */
export function checkStored<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; problem: string } {
  const result = schema.safeParse(value);
  // The schema accepted the value, so it has the shape of T (plus any keys the schema does not list).
  return result.success ? { ok: true, value: value as T } : { ok: false, problem: describeIssues(result.error) };
}

/** One line naming what is wrong, for error messages: `plan.steps.0: expected string, received number`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(value)'}: ${i.message}`)
    .join('; ');
}
