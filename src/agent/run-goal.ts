/**
 * One run, end to end: setup -> plan -> (code -> test -> verify)* -> ship. Every state change is persisted
 * through the RunStore port as it happens; front ends only watch events.
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type {
  AgentEvent,
  ChatMessage,
  CommandRunner,
  Decision,
  EffectiveConfig,
  Gate,
  SavedConversation,
  Plan,
  ModelClient,
  Phase,
  PullRequest,
  RunStatus,
  RunStore,
  StoredEvent,
  TestRunResult,
  Verification,
  Workspace,
} from '../protocol/index.js';
import { describeHinted, describeRule, HintedError, newId } from '../protocol/index.js';
import { type CacheLease, type CacheMounts, type InstallEgress, type LeaseOptions, detectTestPlan, filesToMask, prepareWorkspace, reopenOrReclone, runTests, slugify } from '../workspace/index.js';
import { buildPolicy } from '../policy/index.js';
import { Budget } from './budget.js';
import { Escalation, RunAborted, RunFailure } from './errors.js';
import { readInstructions } from './instructions.js';
import { codePhase, feedback, planPhase, startCoder, testPhase, toolContext, verifyPhase, type PhaseEnv } from './phases.js';
import { anchorLedger } from './pr-body.js';
import type { ToolContext } from '../tools/index.js';
import { askRisk, AwaitingApproval, ContinuedElsewhere, GateKeeper } from './gates.js';
import { startPolicyNetwork, type PolicyNetwork } from './network.js';
import { holdRun, runOwner } from './owner.js';
import { resumedBecause, resumeNote, resumeRefusal } from './resume.js';
import { firstLine, keepBranch, ship } from './ship.js';
import { installDependencies } from './install.js';
import { Supervisor } from './supervisor.js';

export interface RunDeps {
  store: RunStore;
  model: ModelClient;
  /**
   * Makes the command runner for a set of writable folders. Dependency installs get `egressProxySocket` (only
   * the package registries) when `startEgress` is given, else `network: true` (the full network).
   */
  makeRunner(opts: {
    writableDirs: string[];
    seenAs?: string;
    network: boolean;
    egressProxySocket?: string;
    maskFile?: (relativePath: string) => boolean;
    /** The files of writableDirs[0] that maskFile covers, when the caller listed them already (filesToMask). */
    maskedFiles?: Promise<string[]>;
    dependencyCache?: CacheMounts | null;
  }): CommandRunner;
  /** Takes the shared dependency cache of the clone's lockfiles, writable, for one install; absent: none is shared. */
  leaseDependencyCache?(repoDir: string, opts: LeaseOptions): Promise<CacheLease | null>;
  /** Starts the registry-only egress proxy for one dependency install (the bubblewrap sandbox); absent: full network. */
  startEgress?(repoDir: string): Promise<InstallEgress>;
  /**
   * Starts an egress proxy whose every host:port is put to `decide` (the policy's `network` rules), for the
   * commands of a run whose policy allows some host. Absent: commands have no network at all.
   */
  startNetwork?(decide: (host: string, port: number) => { allowed: boolean; reason?: string }): Promise<NetworkEgress>;
  workspacesDir: string;
  /** Clones the repository (default: prepareWorkspace); a front end may hand in a clone it started early. */
  prepareWorkspace?: typeof prepareWorkspace;
  signal: AbortSignal;
  onEvent?: (event: StoredEvent) => void;
  /** Decisions taken before the run (a person's --no-sandbox, say). */
  initialDecisions?: Decision[];
  /** Values found in files the policy hides (a committed .env): from now on they are redacted too. */
  addSecrets?: (values: string[]) => void;
  /**
   * Takes work the run's caller may finish after giving its answer (the finished run's clone moved aside); absent,
   * the run waits for it.
   */
  later?: (work: Promise<unknown>) => void;
}

/** One install's egress proxy: the hosts it lets through and what it did. */
export type { InstallEgress };

/** A run's policy-decided egress: where its commands connect, and what was allowed or refused. */
export interface NetworkEgress {
  socketPath: string;
  decisions(): Array<{ host: string; port: number; allowed: boolean; reason?: string }>;
  close(): Promise<void>;
}

export interface RunRequest {
  goal: string;
  /**
   * Go on with an existing run (stopped, failed or escalated) in the clone it kept, on its branch; `answer` is a
   * person's reply to its question. `runId` names the run; `base` must be the run's base branch.
   */
  resume?: {
    answer?: string;
    /** The run rested at this gate, and a person answered it (approved or rejected). */
    gate?: Gate;
    /** A person asked for changes to the run's open pull request: the run goes on and updates it. */
    revise?: { pr: string; feedback: string };
  };
  /** Block at a gate this long for a person's answer (`--wait`); absent: the run rests as awaiting_approval. */
  waitMs?: number;
  repo: string;
  base?: string;
  config: EffectiveConfig;
  runId?: string;
}

export interface RunOutcome {
  run: string;
  status: Extract<RunStatus, 'pr_open' | 'escalated' | 'failed' | 'stopped' | 'awaiting_approval'>;
  pr: string | null;
  branch: string | null;
  /** The gate an `awaiting_approval` run rests at. */
  gate?: string;
  question?: string;
  error?: string;
  hint?: string;
}

export async function runGoal(request: RunRequest, deps: RunDeps): Promise<RunOutcome> {
  const { store, signal } = deps;
  const runId = request.runId ?? newId('r');
  if (!request.resume) {
    await store.createRun({ id: runId, goal: request.goal, repo: request.repo, base: request.base ?? '', model: deps.model.spec });
  }
  const previous = request.resume ? await store.getRun(runId) : undefined;
  const refusal = request.resume ? resumeRefusal(runId, previous, request.resume, runOwner(deps.workspacesDir, runId)) : undefined;
  // Refused before anything is recorded: the run stays as it was.
  if (refusal) return { run: runId, status: 'failed', pr: null, branch: previous?.branch ?? null, error: refusal.message, hint: refusal.hint };
  const emit = async (event: AgentEvent) => {
    const stored = await store.appendEvent(runId, event);
    deps.onEvent?.(stored);
  };
  const decide = async (decision: Decision) => {
    await store.addDecision(runId, decision);
    await emit({ type: 'decision', decision });
  };
  const enter = async (phase: Phase, status: RunStatus) => {
    await store.updateRun(runId, { phase, status });
    await emit({ type: 'phase', phase, status });
  };
  const budget = new Budget(request.config.budgets);
  /** Aborted when the run comes to rest at a gate: work beside the loop (the baseline) stops. */
  const resting = new AbortController();
  let workspace: Workspace | null = null;
  let denials: Promise<void> = Promise.resolve();
  /** The open pull request this run revises (`slipway pr revise`): shipping updates it instead of opening one. */
  let revising: PullRequest | undefined;
  let network: PolicyNetwork | null = null;
  /** The coder's conversation, kept when the run stops short of a PR (or opens one) so a resumed run goes on in it. */
  let coderTalk: ChatMessage[] | undefined;
  let talkNotKept = false;
  // This process holds the run until it returns: another cannot take it, and a crash can be told apart.
  const release = holdRun(deps.workspacesDir, runId);

  try {
    await emit({ type: 'run_started', goal: request.goal, repo: request.repo, base: request.base ?? 'the checked-out branch', model: deps.model.spec });
    for (const d of deps.initialDecisions ?? []) await decide(d);
    if (request.resume) {
      if (request.resume.answer) {
        await decide({ action: 'answer the run\'s question', by: 'person', autonomous: false, reason: request.resume.answer });
      }
      if (request.resume.revise) {
        await decide({ action: `revise pull request ${request.resume.revise.pr}`, by: 'person', autonomous: false, reason: request.resume.revise.feedback });
      }
      await store.updateRun(runId, { question: null, error: null });
    }
    revising = request.resume?.revise ? await store.getPullRequest(request.resume.revise.pr) : undefined;
    if (request.resume?.revise && revising?.run !== runId) {
      throw new RunFailure(`Pull request ${request.resume.revise.pr} is not run ${runId}'s.`, 'See it with: slipway pr show <pr>');
    }
    await enter('setup', 'pending');
    const slug = slugify(request.goal);
    const preparing = previous?.branch
      ? reopenOrReclone({ repo: request.repo, ...(previous.base || revising?.base ? { base: previous.base || revising!.base } : {}), branch: previous.branch, runId, workspacesDir: deps.workspacesDir, author: request.config.author }).then(
          ({ workspace, notice }) => ({ workspace, notices: [notice] }),
        )
      : (deps.prepareWorkspace ?? prepareWorkspace)({
          repo: request.repo,
          ...(request.base ? { base: request.base } : {}),
          runId,
          slug,
          workspacesDir: deps.workspacesDir,
          author: request.config.author,
        });
    deps.model.warm?.(); // while git clones
    const prepared = await preparing;
    workspace = prepared.workspace;
    const ws = workspace;
    // Rules as data: the defaults, the repository's (tightening only), the user's. The sandbox hides the files reads may not see.
    const policy = buildPolicy(request.config.policy);
    // The secret files the policy hides, listed once (one git process, beside recording the clone and detecting
    // the tests): their values join the redaction list below, and the clone's runner covers them in the sandbox.
    const maskedFiles = filesToMask(ws.dir, policy.masks, ws.filesAtStart);
    maskedFiles.catch(() => undefined); // awaited below
    // Only reading, as the clone was made: beside recording it and the secrets, before any command runs in it.
    const detecting = detectTestPlan(ws.dir, request.config.test);
    detecting.catch(() => undefined);
    const instructionsReading = readInstructions(ws.dir);
    instructionsReading.catch(() => undefined);
    for (const message of prepared.notices) await emit({ type: 'notice', message });
    await store.updateRun(runId, { branch: ws.branch });
    await emit({ type: 'notice', message: `working in a clone on branch ${ws.branch}, from ${ws.base} at ${ws.baseCommit.slice(0, 10)}` });

    const testPlan = await detecting;
    await decide(
      testPlan
        ? { action: `test with \`${testPlan.command}\``, by: 'agent', autonomous: true, reason: `found by ${testPlan.source}` }
        : { action: 'no test command', by: 'agent', autonomous: true, reason: 'no test runner was recognised and none is configured (test.command)' },
    );
    const commandTimeoutMs = request.config.commandTimeoutSeconds * 1000;
    const testTimeoutMs = request.config.test.timeoutSeconds * 1000;
    // Every refusal is on the record; decisions are chained in order, so they queue.
    policy.onDenied = (kind, subject, rule) => {
      denials = denials.then(() =>
        decide({ action: `refuse ${kind} of ${subject}`, by: 'policy', autonomous: true, reason: describeRule(rule) }),
      );
    };
    // A secret committed to the repository stays readable through .git inside the sandbox (git show HEAD:.env),
    // so its values join the redaction list before any command runs.
    deps.addSecrets?.(await secretValues(await maskedFiles));
    // Network off unless a rule allows a host or a person grants one (request_network): then commands reach
    // those hosts, and only those, through a host-side proxy that asks about every connection.
    network = await startPolicyNetwork(policy, deps, decide);
    const policyNetwork = network;
    const socketNow = policyNetwork.socket();
    const egressOpt = socketNow ? { egressProxySocket: socketNow } : {};
    // A command that may write in the clone tells the workspace, before and after: its next commit or diff looks
    // at the tree again (a command that runs beside one, as the baseline beside planning, counts too).
    const makeRunner: RunDeps['makeRunner'] = (o) => {
      const made = deps.makeRunner(o);
      if (!o.writableDirs.includes(ws.dir)) return made;
      return {
        kind: made.kind,
        run: (command, options) => {
          ws.touch();
          return made.run(command, options).finally(() => ws.touch());
        },
      };
    };
    const runner = makeRunner({ writableDirs: [ws.dir], network: false, maskFile: policy.masks, maskedFiles, ...egressOpt });
    let baseline: TestRunResult | null = null;
    // Gates: what a rule answers `ask` waits for a person. Approvals given earlier in this run still hold.
    const gates = new GateKeeper({ store, run: runId, decide, emit, signal, ...(request.waitMs ? { waitMs: request.waitMs } : {}) });
    const earlierGates = previous ? (await store.listGates()).filter((g) => g.run === runId) : [];
    for (const g of earlierGates) {
      if (g.action === 'plan' || g.action === 'merge') continue;
      if (g.status === 'approved' || g.status === 'done') gates.grant(g.action, g.subject);
      if (g.status === 'rejected') gates.refuse(g.action, g.subject, g.answer.reason ?? 'no reason given');
    }
    // A run that rested at a gate in the middle of a conversation goes on from that very tool call.
    // The conversation the run was in: saved at a gate (with the results of the tool calls made so far), or when
    // it escalated, stopped, failed or opened its PR (whole exchanges only).
    const talk = previous ? await store.getConversation(runId) : undefined;
    if (previous) await store.saveConversation(runId, null);
    const ask: NonNullable<ToolContext['ask']> = async (r) =>
      gates.ask({
        action: r.kind,
        subject: r.subject,
        why: `the agent wants to ${r.kind === 'exec' ? 'run' : r.kind === 'network' ? 'let its commands reach' : r.kind} ${r.shown}, and a rule says a person decides (${r.rule})`,
        evidence: { diffstat: await ws.diffStat(), testsBefore: baseline?.counts ?? null, testsAfter: null, verdict: null, detail: `${r.kind}: ${r.subject}\nthe work so far: ${ws.dir} (branch ${ws.branch}, from ${ws.base} at ${ws.baseCommit.slice(0, 12)})` },
        risk: askRisk(r.kind),
      });
    const env: PhaseEnv = {
      model: deps.model,
      budget,
      emit,
      signal,
      workspace: ws,
      testPlan,
      testTimeoutMs,
      baseRunner: (checkout) => deps.makeRunner({ writableDirs: [checkout], seenAs: ws.dir, network: false, maskFile: policy.masks, ...egressOpt }),
      toolContext: { ...toolContext(realpathSync(ws.dir), runner, testPlan, signal, commandTimeoutMs, testTimeoutMs, policy), ask, changed: () => {
        ws.touch();
        ws.stageAhead?.();
      } },
    };
    // A host granted to the agent's commands: the proxy starts with the first, and the agent's commands (not the
    // test runs) get it from then on.
    const grantNetwork = async (host: string, port: number): Promise<boolean> => {
      const before = policyNetwork.socket();
      const socket = await policyNetwork.grant(host, port).catch(async (e: unknown) => {
        await emit({ type: 'notice', message: `could not start the network proxy for ${host}:${port}: ${e instanceof Error ? e.message : String(e)}` });
        return null;
      });
      if (socket && socket !== before) {
        env.toolContext.runner = makeRunner({ writableDirs: [ws.dir], network: false, maskFile: policy.masks, maskedFiles, egressProxySocket: socket });
      }
      return socket !== null;
    };
    env.toolContext.network = { evaluate: (host, port) => policyNetwork.evaluate(host, port), grant: grantNetwork };
    // Hosts a person granted before this run was resumed stay granted.
    for (const g of earlierGates) {
      const m = g.action === 'network' && (g.status === 'approved' || g.status === 'done') ? /^(.+):(\d+)$/.exec(g.subject) : null;
      if (m) await grantNetwork(m[1]!, Number(m[2]));
    }

    // Untracked files a resumed clone already holds are the agent's (a crashed run's), not the install's.
    const untrackedBefore = testPlan && previous ? await ws.untracked() : [];
    // Installing the dependencies and then the baseline run beside planning (the planner only reads): a model
    // thinks for seconds, an install takes as long or longer. The coder starts once all three are done. A run
    // that comes to rest at a gate meanwhile stops them: a resumed run installs and measures the base again. An
    // install that fails stops the planning at once, and the run fails with the install's error.
    const baselineSignal = AbortSignal.any([signal, resting.signal]);
    const setupFailed = new AbortController();
    const baselineRun = testPlan
      ? (async () => {
          if (testPlan.install) {
            await installDependencies({ install: testPlan.install, dir: ws.dir, timeoutMs: testTimeoutMs, signal: baselineSignal, masks: policy.masks, deps: { ...deps, makeRunner }, decide }).catch(
              (error: unknown) => {
                if (!baselineSignal.aborted) setupFailed.abort(error);
                throw error;
              },
            );
          }
          // A resumed clone holds earlier work: the baseline then runs in a checkout of the base commit.
          const baseTree = previous ? await ws.checkoutBaseWith([]) : null;
          // Seen where the clone is, as the proof's checkout is (see PhaseEnv.baseRunner).
          const result = await runTests(
            baseTree ? deps.makeRunner({ writableDirs: [baseTree.dir], seenAs: ws.dir, network: false, maskFile: policy.masks, ...egressOpt }) : runner,
            ws.dir,
            testPlan,
            { timeoutMs: testTimeoutMs, signal: baselineSignal },
          ).finally(() => baseTree?.dispose());
          if (baselineSignal.aborted) throw new RunAborted('stopped by the user');
          await emit({ type: 'tests', when: 'baseline', command: testPlan.command, counts: result.counts, ...(result.counts ? {} : { reason: result.reason ?? 'output not parsed' }) });
          if (result.counts?.failed) {
            await decide({ action: 'proceed with failing tests on the base commit', by: 'agent', autonomous: true, reason: `${result.counts.failed} tests already fail on ${ws.base}; only new failures count against the change` });
          }
          return result;
        })()
      : Promise.resolve(null);
    baselineRun.catch(() => undefined); // awaited below; this only keeps an early exit from leaving it unhandled

    await enter('plan', 'planning');
    const instructions = await instructionsReading;
    const saved = previous ? await store.getPlan(runId) : undefined;
    const answered = request.resume?.gate;
    const planRejected = answered?.action === 'plan' && answered.status === 'rejected' ? answered.answer.reason ?? 'no reason given' : undefined;
    // Planning stops as soon as the install beside it fails.
    const planEnv: PhaseEnv = { ...env, signal: AbortSignal.any([signal, setupFailed.signal]) };
    const replan = async (revise?: { plan: Plan; reason: string }, from?: SavedConversation): Promise<Plan> => {
      // Kept after each exchange: a run killed while planning goes on planning where it was.
      const next = await planPhase(planEnv, request.goal, instructions, revise, from, (messages) => keepTalk('planner', messages)).catch((error: unknown) => {
        throw setupFailed.signal.aborted ? setupFailed.signal.reason : error;
      });
      await store.savePlan(runId, next);
      await emit({ type: 'plan', plan: next });
      return next;
    };
    let plan =
      saved && planRejected === undefined
        ? saved
        : await replan(saved && planRejected !== undefined ? { plan: saved, reason: planRejected } : undefined, talk?.role === 'planner' ? talk : undefined);
    // --approve-plan: no code is written before a person approved the plan. A run that asked once asks again.
    const planGates = earlierGates.filter((g) => g.action === 'plan').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const lastPlanGate = planGates.at(-1);
    let planApproved =
      !(request.config.approvePlan || planGates.length > 0) ||
      (planRejected === undefined && (lastPlanGate?.status === 'approved' || lastPlanGate?.status === 'done'));
    while (!planApproved) {
      const answer = await gates.ask({
        action: 'plan',
        subject: plan.summary,
        why: 'a person asked to approve the plan before any code is written (--approve-plan)',
        evidence: { diffstat: '', testsBefore: null, testsAfter: null, verdict: null, plan },
        risk: { level: 'low', reason: 'nothing is changed before the plan is approved' },
      });
      if (answer.approved) planApproved = true;
      else plan = await replan({ plan, reason: answer.reason });
    }
    baseline = await baselineRun;
    if (testPlan) {
      // What the install and the baseline tests made (an egg-info, build output no ignore rule covers) would
      // otherwise be committed with the change.
      const made = (await ws.untracked()).filter((p) => !untrackedBefore.includes(p));
      if (made.length > 0) {
        await ws.exclude(made);
        const shown = made.slice(0, 8).join(', ') + (made.length > 8 ? ` and ${made.length - 8} more` : '');
        await decide({ action: `leave out of the change what installing and testing made: ${shown}`, by: 'agent', autonomous: true, reason: 'these files were not in the repository and no change made them; they are listed in the clone\'s .git/info/exclude' });
      }
    }

    // The coder goes on in its own conversation when there is one (a gate's goes on from the very tool call);
    // else a fresh one. Either way, unless a gate answered it, it is told why it goes on.
    const atGate = talk?.role === 'coder' && request.resume?.gate !== undefined;
    const coder = talk?.role === 'coder' && talk.messages.length > 0 ? talk.messages : startCoder(request.goal, plan, instructions, baseline);
    coderTalk = coder;
    let pendingResults = atGate ? talk.results : undefined;
    if (previous && !atGate) {
      const stat = (await ws.diffStat()).trim();
      coder.push({ role: 'user', content: [resumedBecause(previous, request.resume ?? {}), stat ? `Your earlier work is committed on this branch:\n${stat}` : 'No earlier change was kept.', resumeNote(request.resume ?? {})].join('\n\n') });
    }
    const coderSupervisor = new Supervisor();
    let verification: Verification | null = null;
    for (let round = 1; round <= request.config.verifyRounds; round++) {
      await enter('code', 'coding');
      const finished = await codePhase(env, coder, coderSupervisor, pendingResults, keepCoderTalk);
      pendingResults = undefined;
      await ws.commitAll(`slipway: ${firstLine(request.goal)}\n\n${finished.summary}`);
      await enter('test', 'testing');
      const outcome = await testPhase(env, baseline, finished.noTestReason);
      await enter('verify', 'verifying');
      verification = await verifyPhase(env, request.goal, plan, outcome, round);
      await emit({ type: 'verification', verification });
      await store.updateRun(runId, { usage: budget.usage, steps: budget.steps });
      if (verification.verdict === 'pass') {
        if (outcome.evidence.noTestReason) {
          await decide({ action: 'open a pull request without a new test', by: 'agent', autonomous: true, reason: outcome.evidence.noTestReason });
        }
        await denials;
        await network?.record();
        await enter('ship', 'shipping');
        const pr = await ship({ request, runId, workspace: ws, plan, outcome, verification, summary: finished.summary, budget, deps, decide, ...(revising ? { revising } : {}) });
        await store.updateRun(runId, { status: 'pr_open', prId: pr.id, usage: budget.usage, steps: budget.steps });
        await keepCoderTalk(); // a revision (slipway pr revise) goes on in it
        if (revising) await emit({ type: 'notice', message: `pull request ${pr.id} is updated to ${pr.head.slice(0, 10)}` });
        await emit({ type: 'pr_opened', pr: pr.id, branch: pr.branch });
        const disposing = ws.dispose({ runOver: true });
        if (deps.later) deps.later(disposing);
        else await disposing;
        return { run: runId, status: 'pr_open', pr: pr.id, branch: pr.branch };
      }
      coder.push({ role: 'user', content: feedback(outcome, verification) });
    }
    throw new Escalation(
      `The change did not pass verification after ${request.config.verifyRounds} rounds. Last findings: ${summarizeFailures(verification)}. The work is on branch ${ws.branch}. Should I continue, change approach, or stop?`,
      'rounds',
    );
  } catch (error) {
    return await settle(error);
  } finally {
    await workspace?.stopStagingAhead?.().catch(() => undefined);
    release();
    await network?.close().catch(() => undefined);
    await store.updateRun(runId, { usage: budget.usage, steps: budget.steps }).catch(() => undefined);
  }

  /**
   * Saves the coder's conversation, whole exchanges only (a tool call left without its result is dropped): after
   * every exchange, so a run killed outright goes on in it, and when the run comes to rest. A failure to save
   * costs only the resumed run its transcript; it is said once.
   */
  async function keepCoderTalk(): Promise<void> {
    if (coderTalk?.length) await keepTalk('coder', coderTalk);
  }

  /** Saves a conversation (the planner's after each exchange, the coder's: keepCoderTalk), whole exchanges only. */
  async function keepTalk(role: 'planner' | 'coder', talk: ChatMessage[]): Promise<void> {
    const messages = [...talk];
    const last = messages.at(-1);
    if (last?.role === 'assistant' && last.toolCalls?.length) messages.pop();
    await store.saveConversation(runId, { role, messages, results: [] }).catch(async (e: unknown) => {
      if (talkNotKept) return;
      talkNotKept = true;
      await emit({ type: 'notice', message: `could not keep the conversation for a resumed run: ${e instanceof Error ? e.message : String(e)}` });
    });
  }

  async function settle(error: unknown): Promise<RunOutcome> {
    await denials.catch(() => undefined);
    if (!(error instanceof AwaitingApproval) && !(error instanceof ContinuedElsewhere)) await keepCoderTalk();
    await network?.record().catch(() => undefined);
    const branch = workspace?.branch ?? null;
    if (error instanceof Escalation) {
      const kept = workspace ? await keepBranch(workspace, 'escalated') : null;
      const question = kept && !error.question.includes(kept) ? `${error.question} (work kept on branch ${kept})` : error.question;
      await decide({ action: 'escalate to a person', by: 'agent', autonomous: false, reason: question });
      if (kept && workspace) {
        // The escalation is the ledger's last entry; anchor it beside the kept branch.
        const ws = workspace;
        await ws
          .head()
          .then((commit) => anchorLedger({ store, run: runId, repo: request.repo, commit, author: request.config.author, gitDir: ws.userGitDir }))
          .catch((e: unknown) => emit({ type: 'notice', message: `could not write the ledger's git note: ${e instanceof Error ? e.message : String(e)}` }));
      }
      await store.updateRun(runId, { status: 'escalated', question });
      await emit({ type: 'escalated', question });
      return { run: runId, status: 'escalated', pr: null, branch: kept, question };
    }
    if (error instanceof AwaitingApproval) {
      resting.abort();
      if (error.conversation) await store.saveConversation(runId, error.conversation);
      const kept = workspace ? await keepBranch(workspace, 'awaiting approval') : null;
      const g = error.gate;
      const question = `${g.action === 'plan' ? `The plan ("${g.subject}")` : `${g.action} ${g.subject}`} awaits a person's approval: slipway approve ${g.id} [--note "..."], or slipway reject ${g.id} --reason "..."`;
      await store.updateRun(runId, { status: 'awaiting_approval', question });
      return { run: runId, status: 'awaiting_approval', pr: revising?.id ?? null, branch: kept ?? branch, gate: g.id, question };
    }
    if (error instanceof ContinuedElsewhere) {
      resting.abort();
      await emit({ type: 'notice', message: `${error.message}; this process leaves the run to it` });
      return { run: runId, status: 'stopped', pr: null, branch };
    }
    if (error instanceof RunAborted || signal.aborted) {
      if (workspace) await workspace.commitAll('slipway: work in progress (stopped)').catch(() => undefined);
      await store.updateRun(runId, { status: 'stopped' });
      await emit({ type: 'stopped', reason: 'stopped by the user' });
      return { run: runId, status: 'stopped', pr: null, branch };
    }
    const { message, hint } = describeError(error);
    await store.updateRun(runId, { status: 'failed', error: `${message}${hint ? ` ${hint}` : ''}` });
    await emit({ type: 'failed', error: message });
    return { run: runId, status: 'failed', pr: null, branch, error: message, ...(hint ? { hint } : {}) };
  }
}

function describeError(error: unknown): { message: string; hint?: string } {
  // ModelError, WorkspaceError, RunFailure and the store's errors are all HintedErrors.
  if (error instanceof HintedError) return describeHinted(error);
  const message = error instanceof Error ? error.message : String(error);
  return { message: `Unexpected error: ${message}`, hint: 'This is a bug in Slipway; the run log (slipway log <run>) has the details.' };
}

function summarizeFailures(v: Verification | null): string {
  if (!v) return 'none';
  const failed = [...(v.overriddenBy ?? []), ...v.findings.filter((f) => f.verdict === 'fail').map((f) => `${f.check}: ${f.evidence}`)];
  return failed.length ? failed.join('; ').slice(0, 600) : 'none';
}

/** The values in secret files (KEY=value lines and whole short files), for redaction. */
async function secretValues(files: string[]): Promise<string[]> {
  const values = new Set<string>();
  for (const file of files.slice(0, 200)) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.length > 256 * 1024) continue;
    for (const line of text.split('\n')) {
      const m = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*["']?(.*?)["']?\s*$/.exec(line);
      const value = (m ? m[1]! : line).trim();
      if (value.length >= 8) values.add(value);
    }
  }
  return [...values];
}
