/**
 * `slipway gates`, `approve`, `reject` and `pr merge`: approval gates answered by a person on the host. The
 * sandbox has no SLIPWAY_HOME and no store, so an agent can neither see a gate nor answer one.
 */
import path from 'node:path';
import { buildPolicy } from '../policy/index.js';
import { describeRule, mergeConfigLayers, newId, type EffectiveConfig, type Gate, type PullRequest, type RunStore } from '../protocol/index.js';
import { loadRepoConfig, loadUserConfig, slipwayHome } from './home.js';
import { mergeSubject, notePullRequest, pendingMergeGate, performMerge, type MergeContext } from './merge-gate.js';
import type { Output } from './output.js';
import { NotFoundError } from './records.js';
import { EXIT, resumeCommand, type RunFlags } from './run-command.js';
import { UsageError } from './home.js';

/** A refusal that is not a bug: printed as `error: message` with a hint, exit 1. */
class GateError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

async function withStore(env: NodeJS.ProcessEnv, fn: (store: RunStore, home: string) => Promise<number>): Promise<number> {
  const { openSqliteStore } = await import('../store/index.js');
  const home = slipwayHome(env);
  const store = await openSqliteStore(path.join(home, 'slipway.db'));
  try {
    return await fn(store, home);
  } finally {
    await store.close();
  }
}

async function effectiveConfig(repo: string, base: string, home: string): Promise<EffectiveConfig> {
  const [repository, user] = await Promise.all([loadRepoConfig(repo, base), loadUserConfig(home)]);
  return mergeConfigLayers({ repository, user });
}

async function repoOf(store: RunStore, pr: PullRequest): Promise<string> {
  const run = await store.getRun(pr.run);
  if (!run) throw new NotFoundError(`Pull request ${pr.id} names run ${pr.run}, which is not in the store.`);
  return run.repo;
}

function line(out: Output, json: boolean, value: Record<string, unknown>, human: string): void {
  out.stdout(json ? JSON.stringify(value) : human);
}

export function gatesCommand(out: Output, env: NodeJS.ProcessEnv, json: boolean): Promise<number> {
  return withStore(env, async (store) => {
    const gates = await store.listGates();
    if (json) {
      out.stdout(JSON.stringify(gates));
      return EXIT.ok;
    }
    if (gates.length === 0) out.stdout('No gates. They come from slipway pr merge <pr>, from run --approve-plan, and from any action a policy rule answers with ask.');
    for (const g of gates) {
      out.stdout(`${g.id}  ${g.status.padEnd(8)}  ${g.action} ${g.action === 'plan' ? `"${g.subject}"` : g.subject}${g.pr ? ` (${g.pr})` : ''}  run ${g.run}  risk ${g.risk.level}: ${g.risk.reason}`);
      if (g.status === 'pending' && g.evidence.plan) {
        out.stdout(`  steps:\n${g.evidence.plan.steps.map((s) => `    - ${s}`).join('\n')}\n  acceptance:\n${g.evidence.plan.acceptance.map((a) => `    - ${a}`).join('\n')}`);
      }
      if (g.status === 'pending' && g.evidence.diffstat.trim()) out.stdout(`  changes so far: ${g.evidence.diffstat.trim().split('\n').at(-1)}`);
      if (g.status === 'pending' && g.evidence.detail) out.stdout(g.evidence.detail.split('\n').map((l) => `  ${l}`).join('\n'));
      if (g.status === 'pending') out.stdout(`  why: ${g.why}\n  answer with: slipway approve ${g.id} [--note "..."]  or  slipway reject ${g.id} --reason "..."`);
      if (g.status === 'done' || g.status === 'failed') out.stdout(`  ${g.outcome}`);
    }
    return EXIT.ok;
  });
}

export function prMergeCommand(prId: string, flags: { json?: boolean }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const json = flags.json === true;
  return withStore(env, async (store, home) => {
    const pr = await openPullRequest(store, prId);
    const pending = (await store.listGates()).find((g) => g.pr === pr.id && g.status === 'pending');
    if (pending) {
      line(out, json, { gate: pending.id, status: 'awaiting_approval' }, `Gate ${pending.id} already awaits approval: slipway approve ${pending.id}`);
      return EXIT.awaitingApproval;
    }
    const repo = await repoOf(store, pr);
    const config = await effectiveConfig(repo, pr.base, home);
    const policy = buildPolicy(config.policy);
    const decision = policy.evaluate('merge', pr.base);
    const subject = mergeSubject(pr);
    const rule = describeRule(decision.rule);
    if (decision.action === 'deny') {
      await store.addDecision(pr.run, { action: `merge ${subject}`, by: 'policy', autonomous: true, reason: `refused by the rule ${rule}` });
      throw new GateError(`The policy refuses to merge into ${pr.base}: ${rule}.`, 'Change the merge rule in $SLIPWAY_HOME/config.json (see "Policy" in README.md) to merge it.');
    }
    if (decision.action === 'allow') {
      await store.addDecision(pr.run, { action: `merge ${subject}`, by: 'policy', autonomous: true, reason: `allowed without asking by the rule ${rule}` });
      return finishMerge({ store, pr, repo, config, masks: policy.masks, env, home, approvedBy: `the policy allowed it (${rule})` }, undefined, json, out);
    }
    const gate = pendingMergeGate(newId('g'), pr, `merging into ${pr.base} needs a person's approval (${rule})`);
    await store.createGate(gate);
    await store.addDecision(pr.run, { action: `merge ${subject}`, by: 'policy', autonomous: false, reason: `asked a person: ${rule}`, evidence: gate.id });
    await notePullRequest(store, pr, { event: 'merge_requested', by: 'policy', note: gate.why, gate: gate.id });
    line(
      out,
      json,
      { gate: gate.id, status: 'awaiting_approval' },
      `Merging ${subject} awaits approval: gate ${gate.id} (risk ${gate.risk.level}: ${gate.risk.reason}).\n` +
        `  approve: slipway approve ${gate.id} [--note "..."]\n  reject:  slipway reject ${gate.id} --reason "..."`,
    );
    return EXIT.awaitingApproval;
  });
}

/** Flags of approve and reject that a run going on uses. */
export interface AnswerFlags {
  json?: boolean;
  model?: string;
  baseUrl?: string;
}

export async function approveCommand(gateId: string, flags: AnswerFlags & { note?: string }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const gate = await readPendingGate(env, gateId);
  if (gate.action !== 'merge') return answerRunGate(gate, { approve: true, ...(flags.note ? { text: flags.note } : {}) }, flags, out, env);
  return approveMerge(gateId, flags, out, env);
}

function approveMerge(gateId: string, flags: { note?: string; json?: boolean }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const json = flags.json === true;
  return withStore(env, async (store, home) => {
    const gate = await pendingGate(store, gateId);
    const pr = await gatePullRequest(store, gate);
    const repo = await repoOf(store, pr);
    const config = await effectiveConfig(repo, pr.base, home);
    const policy = buildPolicy(config.policy);
    const { findBwrap } = await import('../workspace/index.js');
    if (!findBwrap(env)) {
      throw new GateError(
        `Gate ${gate.id} was left pending: the merge re-runs the tests in the bubblewrap sandbox, and bwrap is not installed.`,
        'Install it (Debian/Ubuntu: sudo apt-get install bubblewrap), then approve again.',
      );
    }
    const answer = { by: 'person' as const, ...(flags.note ? { note: flags.note } : {}), at: new Date().toISOString() };
    const approved: Gate = { ...gate, status: 'approved', answer, updatedAt: answer.at };
    await store.transitionGate(approved, 'pending');
    await store.addDecision(gate.run, {
      action: `approve gate ${gate.id}: merge ${gate.subject}`,
      by: 'person',
      autonomous: false,
      reason: flags.note ?? 'approved without a note',
      evidence: gate.id,
    });
    const noted = await notePullRequest(store, pr, { event: 'approved', by: 'person', note: flags.note ?? 'approved', gate: gate.id });
    return finishMerge(
      { store, pr: noted, repo, config, masks: policy.masks, env, home, approvedBy: `a person approved gate ${gate.id}`, gate: gate.id },
      approved,
      json,
      out,
    );
  });
}

export async function rejectCommand(gateId: string, flags: AnswerFlags & { reason: string; revise?: boolean }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  if (!flags.reason.trim()) throw new GateError('The reason is empty.', 'Say why, e.g. slipway reject g-… --reason "the rounding is wrong"');
  const gate = await readPendingGate(env, gateId);
  if (gate.action !== 'merge') return answerRunGate(gate, { approve: false, text: flags.reason }, flags, out, env);
  const code = await rejectMerge(gateId, flags, out, env);
  if (code !== EXIT.ok || flags.revise === false || !gate.pr) return code;
  // The reason goes back to the agent: it revises the pull request on the same branch.
  return reviseCommand(gate.pr, flags.reason, runFlags(flags), out, env);
}

/** The pending gate (a merge's, or a run's: plan, command, file); refused with a hint when absent or answered. */
async function readPendingGate(env: NodeJS.ProcessEnv, gateId: string): Promise<Gate> {
  let found: Gate | undefined;
  await withStore(env, async (store) => {
    found = await pendingGate(store, gateId);
    return EXIT.ok;
  });
  return found!;
}

/**
 * A run rests at (or blocks on) this gate. The answer is recorded; a run that blocks on it (`--wait`) goes on
 * by itself, and otherwise the run goes on here, in this process, with the answer.
 */
async function answerRunGate(gate: Gate, answer: { approve: boolean; text?: string }, flags: AnswerFlags, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const { waiterAlive } = await import('../agent/gates.js');
  let continued: Gate | undefined;
  await withStore(env, async (store) => {
    const at = new Date().toISOString();
    const reply = { by: 'person' as const, ...(answer.approve ? (answer.text ? { note: answer.text } : {}) : { reason: answer.text ?? '' }), at };
    const answered: Gate = answer.approve ? { ...gate, status: 'approved', answer: reply, updatedAt: at } : { ...gate, status: 'rejected', answer: reply, updatedAt: at };
    await store.transitionGate(answered, 'pending');
    await store.addDecision(gate.run, {
      action: `${answer.approve ? 'approve' : 'reject'} gate ${gate.id}: ${gate.action} ${gate.subject}`,
      by: 'person',
      autonomous: false,
      reason: answer.text ?? 'approved without a note',
      evidence: gate.id,
    });
    if (waiterAlive(gate) && (await takenUp(store, gate))) {
      out.stderr(`Gate ${gate.id} ${answered.status}; run ${gate.run} was waiting for it and goes on by itself.`);
      if (flags.json) out.stdout(JSON.stringify({ gate: gate.id, status: answered.status, run: gate.run, continued: 'waiting process' }));
      return EXIT.ok;
    }
    if (answered.status === 'approved') {
      // Claim the continuation (compare and set): only one process goes on with the run.
      continued = { ...answered, status: 'done', outcome: 'the run went on in slipway approve', updatedAt: new Date().toISOString() };
      await store.transitionGate(continued, 'approved');
    } else {
      continued = answered;
    }
    return EXIT.ok;
  });
  if (!continued) return EXIT.ok;
  out.stderr(`Gate ${gate.id} ${answer.approve ? 'approved' : 'rejected'}; run ${gate.run} goes on here.`);
  return resumeCommand(gate.run, undefined, runFlags(flags), out, env, { gate: continued });
}

/** Whether the process that blocks on the gate took the answer up (its gate_answered event), within a few seconds. */
async function takenUp(store: RunStore, gate: Gate): Promise<boolean> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const events = await store.listEvents(gate.run);
    if (events.some((e) => e.event.type === 'gate_answered' && e.event.gate === gate.id)) return true;
    const now = await store.getGate(gate.id);
    if (now?.status === 'done') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function runFlags(flags: AnswerFlags): Omit<RunFlags, 'repo'> {
  return { ...(flags.json ? { json: true } : {}), ...(flags.model ? { model: flags.model } : {}), ...(flags.baseUrl ? { baseUrl: flags.baseUrl } : {}) };
}

/**
 * `slipway pr revise <pr> "feedback"` (and a rejected merge gate): the run that opened the pull request goes
 * on, on the same branch, with the feedback; when it passes again, the pull request is updated in place.
 */
export async function reviseCommand(
  prId: string,
  feedback: string,
  flags: Omit<RunFlags, 'repo'>,
  out: Output,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  if (!feedback.trim()) throw new UsageError('The feedback is empty. Say what to change, e.g. slipway pr revise pr-… "round to cents".');
  let runId = '';
  await withStore(env, async (store) => {
    const pr = await openPullRequest(store, prId);
    runId = pr.run;
    const run = await store.getRun(pr.run);
    if (run?.status === 'awaiting_approval') {
      // Checked before anything is recorded: the run is resting at a gate of its own.
      const gate = (await store.listGates()).find((g) => g.run === pr.run && g.status === 'pending');
      throw new GateError(
        `Pull request ${pr.id}'s run ${pr.run} already waits at gate ${gate?.id ?? '(none found)'} (${gate ? `${gate.action} ${gate.subject}` : 'awaiting approval'}).`,
        gate ? `Answer it first: slipway approve ${gate.id} or slipway reject ${gate.id} --reason "..."` : 'See it with: slipway gates',
      );
    }
    if (run && !['pr_open', 'escalated', 'stopped', 'failed'].includes(run.status)) {
      throw new GateError(`Pull request ${pr.id}'s run ${pr.run} is ${run.status}: it is still working.`, 'Wait for it to finish (slipway log ' + pr.run + '), then ask again.');
    }
    const at = new Date().toISOString();
    // A merge that waits would merge what is about to change: the revision supersedes it.
    for (const g of (await store.listGates()).filter((g) => g.pr === pr.id && g.status === 'pending')) {
      await store.transitionGate({ ...g, status: 'rejected', answer: { by: 'person', reason: `superseded: the pull request went back for revision (${feedback})`, at }, updatedAt: at }, 'pending');
    }
    await notePullRequest(store, pr, { event: 'revision_requested', by: 'person', note: feedback });
    return EXIT.ok;
  });
  out.stderr(`Pull request ${prId} goes back to the agent (run ${runId}) with your feedback.`);
  return resumeCommand(runId, undefined, flags, out, env, { revise: { pr: prId, feedback } });
}

function rejectMerge(gateId: string, flags: { reason: string; json?: boolean; revise?: boolean }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const json = flags.json === true;
  return withStore(env, async (store) => {
    const gate = await pendingGate(store, gateId);
    const at = new Date().toISOString();
    await store.transitionGate({ ...gate, status: 'rejected', answer: { by: 'person', reason: flags.reason, at }, updatedAt: at }, 'pending');
    await store.addDecision(gate.run, { action: `reject gate ${gate.id}: ${gate.action} ${gate.subject}`, by: 'person', autonomous: false, reason: flags.reason, evidence: gate.id });
    const pr = gate.pr ? await store.getPullRequest(gate.pr) : undefined;
    if (pr) await notePullRequest(store, pr, { event: 'rejected', by: 'person', note: flags.reason, gate: gate.id });
    const revise = flags.revise !== false && gate.pr;
    const human = `Gate ${gate.id} rejected; ${gate.pr ? `pull request ${gate.pr} stays open with your reason recorded${revise ? ', and goes back to the agent with it' : ''}` : 'nothing was done'}.`;
    // When the revision follows, stdout belongs to the run (its --json lines end with the run's status line).
    if (revise) out.stderr(human);
    else line(out, json, { gate: gate.id, status: 'rejected', pr: gate.pr ?? null }, human);
    return EXIT.ok;
  });
}

async function openPullRequest(store: RunStore, prId: string): Promise<PullRequest> {
  const pr = await store.getPullRequest(prId);
  if (!pr) throw new NotFoundError(`No pull request "${prId}". List them with: slipway pr list`);
  if (pr.status !== 'open') throw new GateError(`Pull request ${pr.id} is ${pr.status}, not open.`, `See it with: slipway pr show ${pr.id}`);
  return pr;
}

async function pendingGate(store: RunStore, gateId: string): Promise<Gate> {
  const gate = await store.getGate(gateId);
  if (!gate) throw new NotFoundError(`No gate "${gateId}". List them with: slipway gates`);
  if (gate.status !== 'pending') {
    throw new GateError(
      `Gate ${gate.id} is ${gate.status}, not pending: it was answered already${'answer' in gate ? ` (${gate.answer.at})` : ''}.`,
      gate.pr ? `To try the merge again: slipway pr merge ${gate.pr}` : 'See it with: slipway gates',
    );
  }
  return gate;
}

async function gatePullRequest(store: RunStore, gate: Gate): Promise<PullRequest> {
  if (!gate.pr) throw new GateError(`Gate ${gate.id} names no pull request.`, 'This is a bug in Slipway; please report it.');
  return openPullRequest(store, gate.pr);
}

async function finishMerge(
  ctx: MergeContext,
  gate: Extract<Gate, { status: 'approved' }> | undefined,
  json: boolean,
  out: Output,
): Promise<number> {
  const { store, pr } = ctx;
  let result: Awaited<ReturnType<typeof performMerge>>;
  try {
    result = await performMerge(ctx);
  } catch (error) {
    result = { ok: false, reason: `the merge stopped with an error: ${(error as Error).message}` };
    await store.addDecision(pr.run, { action: `merge ${mergeSubject(pr)}`, by: 'agent', autonomous: false, reason: `not merged: ${result.reason}` });
    await notePullRequest(store, pr, { event: 'merge_failed', by: 'slipway', note: result.reason, ...(gate ? { gate: gate.id } : {}) });
  }
  const at = new Date().toISOString();
  if (gate) {
    await store.transitionGate(
      result.ok ? { ...gate, status: 'done', outcome: `merged: ${result.summary}`, updatedAt: at } : { ...gate, status: 'failed', outcome: `not merged: ${result.reason}`, updatedAt: at },
      'approved',
    );
  }
  const ids = { ...(gate ? { gate: gate.id } : {}), pr: pr.id };
  if (result.ok) {
    line(out, json, { ...ids, status: 'merged', commit: result.commit }, `Merged ${mergeSubject(pr)}: ${result.summary}`);
    return EXIT.ok;
  }
  line(out, json, { ...ids, status: 'failed', error: result.reason }, `✗ Not merged: ${result.reason}\n  Pull request ${pr.id} stays open; fix the cause, then: slipway pr merge ${pr.id}`);
  return EXIT.error;
}
