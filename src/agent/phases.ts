/** The phases between setup and ship: plan, code, test-and-prove, verify. Each is a small function. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  ChatMessage,
  Plan,
  TestPlan,
  TestRunResult,
  Verification,
  Workspace,
  CommandRunner,
  PolicyCheck,
  SavedConversation,
  ToolResult,
} from '../protocol/index.js';
import {
  CODER_TOOLS,
  PLANNER_TOOLS,
  VERIFIER_TOOLS,
  finishParams,
  planParams,
  verdictParams,
  type ToolContext,
} from '../tools/index.js';
import { mayHoldInlineTests, runTests, splitInlineTests, type InlineTestChange } from '../workspace/index.js';
import { converse, type LoopEnv } from './conversation.js';
import { judge, type Judgement } from './evidence.js';
import { CODER_SYSTEM, PLANNER_SYSTEM, VERIFIER_SYSTEM, coderTask, plannerTask } from './prompts.js';
import { isTestFile } from './test-files.js';
import { Supervisor } from './supervisor.js';

export interface PhaseEnv extends LoopEnv {
  workspace: Workspace;
  testPlan: TestPlan | null;
  testTimeoutMs: number;
  /** A runner for a checkout of the base commit, shown inside the sandbox where the clone is. */
  baseRunner(checkoutDir: string): CommandRunner;
}

/** Plans the goal; `revise` is a plan a person rejected and their reason, to plan again from. */
export async function planPhase(
  env: PhaseEnv,
  goal: string,
  instructions: string,
  revise?: { plan: Plan; reason: string },
  /** The planner's conversation saved at a gate, or after an exchange of a run that was cut off: it goes on from there. */
  from?: SavedConversation,
  /** Keeps the conversation after each exchange. */
  onExchange?: (messages: ChatMessage[]) => Promise<void>,
): Promise<Plan> {
  const keep = onExchange ? { onExchange } : {};
  // Cut off, or resting at a gate in the middle of planning: the conversation goes on from where it was.
  if (from && !revise) {
    const input = await converse(
      { role: 'planner', system: PLANNER_SYSTEM, messages: from.messages, tools: PLANNER_TOOLS, stopTool: 'submit_plan', supervisor: new Supervisor(), ...keep },
      env,
      from.results,
    );
    return planParams.parse(input);
  }
  // A rejected plan is revised in the conversation that made it, when it was kept.
  const messages: ChatMessage[] = from ? [...from.messages] : [{ role: 'user', content: plannerTask(goal, instructions, env.testPlan) }];
  if (revise) {
    messages.push({
      role: 'user',
      content: [
        'A person reviewed your earlier plan and rejected it.',
        `The plan:\n${revise.plan.summary}\nSteps:\n${revise.plan.steps.map((s) => `- ${s}`).join('\n')}\nAcceptance checks:\n${revise.plan.acceptance.map((a) => `- ${a}`).join('\n')}`,
        `Their reason: ${revise.reason}`,
        'Read what you need, then submit a revised plan with submit_plan.',
      ].join('\n\n'),
    });
  }
  const input = await converse(
    { role: 'planner', system: PLANNER_SYSTEM, messages, tools: PLANNER_TOOLS, stopTool: 'submit_plan', supervisor: new Supervisor(), ...keep },
    env,
  );
  return planParams.parse(input);
}

export function startCoder(goal: string, plan: Plan, instructions: string, baseline: TestRunResult | null): ChatMessage[] {
  const base = baseline
    ? baseline.counts
      ? `${baseline.counts.passed} passed, ${baseline.counts.failed} failed, ${baseline.counts.skipped} skipped` +
        (baseline.counts.failed ? ` (already failing: ${failing(baseline).join(', ')})` : '')
      : `output could not be parsed (${baseline.reason ?? 'unknown'}), exit code ${baseline.exitCode}`
    : 'no test command found';
  return [{ role: 'user', content: coderTask(goal, plan, instructions, base) }];
}

export async function codePhase(
  env: PhaseEnv,
  messages: ChatMessage[],
  supervisor: Supervisor,
  /** Going on from a gate: the results of the last message's calls that ran before it. */
  resumeResults?: ToolResult[],
  /** Keeps the conversation after each exchange, so a run killed outright goes on in it when resumed. */
  onExchange?: (messages: ChatMessage[]) => Promise<void>,
): Promise<{ summary: string; noTestReason?: string }> {
  const input = finishParams.parse(
    await converse({ role: 'coder', system: CODER_SYSTEM, messages, tools: CODER_TOOLS, stopTool: 'finish', supervisor, ...(onExchange ? { onExchange } : {}) }, env, resumeResults),
  );
  return { summary: input.summary, ...(input.no_test_reason ? { noTestReason: input.no_test_reason } : {}) };
}

export interface TestOutcome extends Judgement {
  after: TestRunResult | null;
}

/** Runs the suite on the change, and on the base commit with only the changed tests, then judges. */
export async function testPhase(
  env: PhaseEnv,
  baseline: TestRunResult | null,
  noTestReason: string | undefined,
): Promise<TestOutcome> {
  const plan = env.testPlan;
  const changed = (await env.workspace.changedFiles()).filter((c) => c.status !== 'deleted').map((c) => c.path);
  const inline = plan ? await inlineTests(env, changed.filter((p) => !isTestFile(p) && mayHoldInlineTests(p))) : { whole: [], split: {} };
  const wholeTestFiles = [...changed.filter(isTestFile), ...inline.whole];
  const changedTestFiles = [...wholeTestFiles, ...Object.keys(inline.split)];
  if (!plan) {
    return { after: null, ...judge({ command: null, baseline, after: null, proof: null, changedTestFiles, noTestReason }) };
  }
  const after = await runTests(env.toolContext.runner, env.workspace.dir, plan, {
    timeoutMs: env.testTimeoutMs,
    signal: env.signal,
  });
  await env.emit({ type: 'tests', when: 'after', command: plan.command, counts: after.counts, ...reason(after) });
  let proof: TestRunResult | null = null;
  if (changedTestFiles.length > 0) {
    const overlay = await env.workspace.checkoutBaseWith(wholeTestFiles, inline.split);
    try {
      // Seen where the clone is: what the install wrote into the clone (an editable package) leads to the base.
      proof = await runTests(env.baseRunner(overlay.dir), env.workspace.dir, plan, {
        timeoutMs: env.testTimeoutMs,
        signal: env.signal,
      });
    } finally {
      await overlay.dispose();
    }
    await env.emit({ type: 'tests', when: 'proof', command: plan.command, counts: proof.counts, ...reason(proof) });
  }
  return { after, ...judge({ command: plan.command, baseline, after, proof, changedTestFiles, noTestReason }) };
}

/**
 * Changed files whose tests sit beside their code (Rust's `#[cfg(test)]` modules): those whose tests alone
 * changed go into the proof whole; those whose code changed too go in as the base code with the new tests.
 */
async function inlineTests(env: PhaseEnv, files: string[]): Promise<{ whole: string[]; split: Record<string, string> }> {
  const whole: string[] = [];
  const split: Record<string, string> = {};
  for (const file of files) {
    const current = await readFile(path.join(env.workspace.dir, file), 'utf8').catch(() => null);
    if (current === null) continue;
    // A parser that cannot be loaded (a damaged install) leaves the file to the suite, as a parse error does.
    const change = await splitInlineTests(await env.workspace.readAtBase(file), current).catch(
      (e: unknown): InlineTestChange => ({ kind: 'unsplittable', reason: `the parser failed: ${e instanceof Error ? e.message : String(e)}` }),
    );
    if (change.kind === 'tests-only') whole.push(file);
    else if (change.kind === 'split') split[file] = change.content;
    else if (change.kind === 'unsplittable') {
      await env.emit({ type: 'notice', message: `the tests in ${file} cannot be proven apart from its code (${change.reason}); the suite judges them` });
    }
  }
  return { whole, split };
}

/** A fresh conversation: goal, checks, diff and evidence only; none of the coder's transcript. */
export async function verifyPhase(
  env: PhaseEnv,
  goal: string,
  plan: Plan,
  outcome: TestOutcome,
  round: number,
): Promise<Verification> {
  const diff = await env.workspace.diff();
  const t = outcome.evidence;
  const evidence = [
    `Test command: ${t.command ?? 'none found'}`,
    `Before the change: ${t.before ? JSON.stringify(t.before) : `not available (${t.beforeReason ?? 'no test command'})`}`,
    `After the change: ${t.after ? JSON.stringify(t.after) : `not available (${t.afterReason ?? 'no test command'})`}`,
    `New failures: ${t.newFailures.length ? t.newFailures.join(', ') : 'none'}`,
    `New tests (failed on the base commit with only the test change / passed with the whole change):`,
    ...(t.newTests.length
      ? t.newTests.map((n) => `- ${n.test} (${n.file}): failedBefore=${n.failedBefore}, passedAfter=${n.passedAfter}`)
      : [`- none (${t.noTestReason ?? 'no reason given'})`]),
    outcome.after ? `Tail of the test output:\n${outcome.after.output.slice(-3000)}` : '',
  ].join('\n');
  const messages: ChatMessage[] = [
    {
      role: 'user',
      content: [
        `Goal: ${goal}`,
        `Acceptance checks:\n${plan.acceptance.map((c, i) => `${i + 1}. ${c}`).join('\n')}`,
        `Diff against the base commit:\n\`\`\`diff\n${clipDiff(diff)}\n\`\`\``,
        `Test evidence:\n${evidence}`,
      ].join('\n\n'),
    },
  ];
  const input = verdictParams.parse(
    await converse(
      { role: 'verifier', system: VERIFIER_SYSTEM, messages, tools: VERIFIER_TOOLS, stopTool: 'submit_verdict', supervisor: new Supervisor() },
      env,
    ),
  );
  const overriddenBy = [...outcome.problems];
  if (input.findings.length < plan.acceptance.length) {
    overriddenBy.push(`The verifier judged ${input.findings.length} of ${plan.acceptance.length} acceptance checks.`);
  }
  const verdict = input.verdict === 'pass' && input.findings.every((f) => f.verdict === 'pass') && overriddenBy.length === 0;
  return {
    verdict: verdict ? 'pass' : 'fail',
    findings: input.findings,
    ...(overriddenBy.length && input.verdict === 'pass' ? { overriddenBy } : {}),
    round,
  };
}

/** What goes back to the coder after a failed round. */
export function feedback(outcome: TestOutcome, verification: Verification): string {
  const lines = ['Your change is not done yet.'];
  if (outcome.problems.length) lines.push('Slipway checked the tests:', ...outcome.problems.map((p) => `- ${p}`));
  const failed = verification.findings.filter((f) => f.verdict === 'fail');
  if (failed.length) lines.push('An independent reviewer found:', ...failed.map((f) => `- ${f.check}: ${f.evidence}`));
  lines.push('Fix this, run the tests, and call finish again.');
  return lines.join('\n');
}

export function toolContext(
  root: string,
  runner: CommandRunner,
  testPlan: TestPlan | null,
  signal: AbortSignal,
  commandTimeoutMs: number,
  testTimeoutMs: number,
  policy?: PolicyCheck,
): ToolContext {
  return {
    root,
    runner,
    signal,
    commandTimeoutMs,
    ...(testPlan ? { runTests: () => runTests(runner, root, testPlan, { timeoutMs: testTimeoutMs, signal }) } : {}),
    ...(policy ? { policy } : {}),
  };
}

function failing(run: TestRunResult): string[] {
  return run.tests.filter((t) => t.status === 'failed').map((t) => t.id).slice(0, 20);
}

function reason(run: TestRunResult): { reason?: string } {
  return run.counts ? {} : { reason: run.reason ?? 'output not parsed' };
}

function clipDiff(diff: string, max = 60_000): string {
  return diff.length <= max ? diff : `${diff.slice(0, max)}\n… [diff truncated: ${diff.length - max} more characters]`;
}
