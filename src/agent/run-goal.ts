/**
 * One run, end to end: setup -> plan -> (code -> test -> verify)* -> ship. Every state change is persisted
 * through the RunStore port as it happens; front ends only watch events.
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type {
  AgentEvent,
  CommandRunner,
  Decision,
  EffectiveConfig,
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
import { describeRule, HintedError, ModelError, newId } from '../protocol/index.js';
import { type CacheLease, type CacheMounts, type InstallEgress, type LeaseOptions, detectTestPlan, filesToMask, prepareWorkspace, reopenWorkspace, runTests, slugify, WorkspaceError } from '../workspace/index.js';
import { buildPolicy } from '../policy/index.js';
import { Budget } from './budget.js';
import { Escalation, RunAborted, RunFailure } from './errors.js';
import { readInstructions } from './instructions.js';
import { codePhase, feedback, planPhase, startCoder, testPhase, toolContext, verifyPhase, type PhaseEnv } from './phases.js';
import { anchorLedger, renderPrBody } from './pr-body.js';
import { installDependencies } from './install.js';
import { Supervisor } from './supervisor.js';

export interface RunDeps {
  store: RunStore;
  model: ModelClient;
  /**
   * Makes the command runner for a set of writable folders. Dependency installs get `egressProxySocket` (only
   * the package registries) when `startEgress` is given, else `network: true` (the full network).
   */
  makeRunner(opts: { writableDirs: string[]; network: boolean; egressProxySocket?: string; maskFile?: (relativePath: string) => boolean; dependencyCache?: CacheMounts | null }): CommandRunner;
  /** Takes the shared dependency cache of the clone's lockfiles, writable, for one install; absent: none is shared. */
  leaseDependencyCache?(repoDir: string, opts: LeaseOptions): Promise<CacheLease | null>;
  /** Starts the registry-only egress proxy for one dependency install (the bubblewrap sandbox); absent: full network. */
  startEgress?(repoDir: string): Promise<InstallEgress>;
  workspacesDir: string;
  signal: AbortSignal;
  onEvent?: (event: StoredEvent) => void;
  /** Decisions taken before the run (a person's --no-sandbox, say). */
  initialDecisions?: Decision[];
  /** Values found in files the policy hides (a committed .env): from now on they are redacted too. */
  addSecrets?: (values: string[]) => void;
}

/** One install's egress proxy: the hosts it lets through and what it did. */
export type { InstallEgress };

export interface RunRequest {
  goal: string;
  /**
   * Go on with an existing run (stopped, failed or escalated) in the clone it kept, on its branch; `answer` is a
   * person's reply to its question. `runId` names the run; `base` must be the run's base branch.
   */
  resume?: { answer?: string };
  repo: string;
  base?: string;
  config: EffectiveConfig;
  runId?: string;
}

export interface RunOutcome {
  run: string;
  status: Extract<RunStatus, 'pr_open' | 'escalated' | 'failed' | 'stopped'>;
  pr: string | null;
  branch: string | null;
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
  let workspace: Workspace | null = null;
  let denials: Promise<void> = Promise.resolve();

  try {
    await emit({ type: 'run_started', goal: request.goal, repo: request.repo, base: request.base ?? 'the checked-out branch', model: deps.model.spec });
    for (const d of deps.initialDecisions ?? []) await decide(d);
    if (request.resume) {
      if (!previous?.branch || !['escalated', 'stopped', 'failed'].includes(previous.status)) {
        throw new RunFailure(
          `Run ${runId} cannot be resumed: it is ${previous ? previous.status : 'unknown'}${previous && !previous.branch ? ' and never got a branch' : ''}.`,
          'Only a stopped, failed or escalated run that got as far as its clone can go on; start a new run with slipway run.',
        );
      }
      if (request.resume.answer) {
        await decide({ action: 'answer the run\'s question', by: 'person', autonomous: false, reason: request.resume.answer });
      }
      await store.updateRun(runId, { question: null, error: null });
    }
    await enter('setup', 'pending');
    const slug = slugify(request.goal);
    const preparing = previous?.branch
      ? reopenWorkspace({ repo: request.repo, ...(previous.base ? { base: previous.base } : {}), branch: previous.branch, runId, workspacesDir: deps.workspacesDir }).then((workspace) => ({
          workspace,
          notices: [`resuming in the clone the run kept, on ${previous.branch}`],
        }))
      : prepareWorkspace({
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
    for (const message of prepared.notices) await emit({ type: 'notice', message });
    await store.updateRun(runId, { branch: ws.branch });
    await emit({ type: 'notice', message: `working in a clone on branch ${ws.branch}, from ${ws.base} at ${ws.baseCommit.slice(0, 10)}` });

    const testPlan = await detectTestPlan(ws.dir, request.config.test);
    await decide(
      testPlan
        ? { action: `test with \`${testPlan.command}\``, by: 'agent', autonomous: true, reason: `found by ${testPlan.source}` }
        : { action: 'no test command', by: 'agent', autonomous: true, reason: 'no test runner was recognised and none is configured (test.command)' },
    );
    const commandTimeoutMs = request.config.commandTimeoutSeconds * 1000;
    const testTimeoutMs = request.config.test.timeoutSeconds * 1000;
    // Rules as data: the defaults, the repository's (tightening only), the user's. The sandbox hides the files reads may not see.
    const policy = buildPolicy(request.config.policy);
    // Every refusal is on the record; decisions are chained in order, so they queue.
    policy.onDenied = (kind, subject, rule) => {
      denials = denials.then(() =>
        decide({ action: `refuse ${kind} of ${subject}`, by: 'policy', autonomous: true, reason: describeRule(rule) }),
      );
    };
    // A secret committed to the repository stays readable through .git inside the sandbox (git show HEAD:.env),
    // so its values join the redaction list before any command runs.
    deps.addSecrets?.(await secretValues(filesToMask(ws.dir, policy.masks)));
    const runner = deps.makeRunner({ writableDirs: [ws.dir], network: false, maskFile: policy.masks });
    const env: PhaseEnv = {
      model: deps.model,
      budget,
      emit,
      signal,
      workspace: ws,
      testPlan,
      testTimeoutMs,
      makeRunner: (dirs) => deps.makeRunner({ writableDirs: dirs, network: false, maskFile: policy.masks }),
      toolContext: toolContext(realpathSync(ws.dir), runner, testPlan, signal, commandTimeoutMs, testTimeoutMs, policy),
    };

    let baseline: TestRunResult | null = null;
    if (testPlan?.install) await installDependencies({ install: testPlan.install, dir: ws.dir, timeoutMs: testTimeoutMs, signal, masks: policy.masks, deps, decide });
    // The baseline runs beside planning (the planner only reads); the coder starts once both are done.
    const baselineRun = testPlan
      ? (async () => {
          // A resumed clone holds earlier work: the baseline then runs in a checkout of the base commit.
          const baseTree = previous ? await ws.checkoutBaseWith([]) : null;
          const result = await runTests(
            baseTree ? deps.makeRunner({ writableDirs: [baseTree.dir], network: false, maskFile: policy.masks }) : runner,
            baseTree?.dir ?? ws.dir,
            testPlan,
            { timeoutMs: testTimeoutMs, signal },
          ).finally(() => baseTree?.dispose());
          if (signal.aborted) throw new RunAborted('stopped by the user');
          await emit({ type: 'tests', when: 'baseline', command: testPlan.command, counts: result.counts, ...(result.counts ? {} : { reason: result.reason ?? 'output not parsed' }) });
          if (result.counts?.failed) {
            await decide({ action: 'proceed with failing tests on the base commit', by: 'agent', autonomous: true, reason: `${result.counts.failed} tests already fail on ${ws.base}; only new failures count against the change` });
          }
          return result;
        })()
      : Promise.resolve(null);
    baselineRun.catch(() => undefined); // awaited below; this only keeps an early exit from leaving it unhandled

    await enter('plan', 'planning');
    const instructions = await readInstructions(ws.dir);
    const saved = previous ? await store.getPlan(runId) : undefined;
    const plan = saved ?? (await planPhase(env, request.goal, instructions));
    if (!saved) {
      await store.savePlan(runId, plan);
      await emit({ type: 'plan', plan });
    }
    baseline = await baselineRun;

    const coder = startCoder(request.goal, plan, instructions, baseline);
    if (previous) {
      const stat = (await ws.diffStat()).trim();
      coder.push({
        role: 'user',
        content: [
          `You are resuming this run after it ${previous.status === 'escalated' ? `escalated with: ${previous.question ?? 'a question'}` : `was ${previous.status}`}.`,
          stat ? `Your earlier work is committed on this branch:\n${stat}` : 'No earlier change was kept.',
          request.resume?.answer ? `A person answered: ${request.resume.answer}` : 'A person asked you to go on.',
        ].join('\n\n'),
      });
    }
    const coderSupervisor = new Supervisor();
    let verification: Verification | null = null;
    for (let round = 1; round <= request.config.verifyRounds; round++) {
      await enter('code', 'coding');
      const finished = await codePhase(env, coder, coderSupervisor);
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
        await enter('ship', 'shipping');
        const pr = await ship({ request, runId, workspace: ws, plan, outcome, verification, summary: finished.summary, budget, deps, decide });
        await store.updateRun(runId, { status: 'pr_open', prId: pr.id, usage: budget.usage, steps: budget.steps });
        await emit({ type: 'pr_opened', pr: pr.id, branch: pr.branch });
        await ws.dispose();
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
    await store.updateRun(runId, { usage: budget.usage, steps: budget.steps }).catch(() => undefined);
  }

  async function settle(error: unknown): Promise<RunOutcome> {
    await denials.catch(() => undefined);
    const branch = workspace?.branch ?? null;
    if (error instanceof Escalation) {
      const kept = workspace ? await keepBranch(workspace) : null;
      const question = kept && !error.question.includes(kept) ? `${error.question} (work kept on branch ${kept})` : error.question;
      await decide({ action: 'escalate to a person', by: 'agent', autonomous: false, reason: question });
      if (kept && workspace) {
        // The escalation is the ledger's last entry; anchor it beside the kept branch.
        const ws = workspace;
        await ws
          .head()
          .then((commit) => anchorLedger({ store, run: runId, repo: request.repo, commit, author: request.config.author }))
          .catch((e: unknown) => emit({ type: 'notice', message: `could not write the ledger's git note: ${e instanceof Error ? e.message : String(e)}` }));
      }
      await store.updateRun(runId, { status: 'escalated', question });
      await emit({ type: 'escalated', question });
      return { run: runId, status: 'escalated', pr: null, branch: kept, question };
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

async function ship(a: {
  request: RunRequest;
  runId: string;
  workspace: Workspace;
  plan: import('../protocol/index.js').Plan;
  outcome: import('./phases.js').TestOutcome;
  verification: Verification;
  summary: string;
  budget: Budget;
  deps: RunDeps;
  decide: (d: Decision) => Promise<void>;
}): Promise<PullRequest> {
  const ws = a.workspace;
  const head = await ws.commitAll(`slipway: ${firstLine(a.request.goal)}`);
  await ws.publishBranch();
  await a.decide({ action: `open a pull request from ${ws.branch} into ${ws.base}`, by: 'agent', autonomous: true, reason: 'tests show no new failures, every new test is proven, and the verifier passed every check; nothing is merged' });
  const decisions = await a.deps.store.listDecisions(a.runId);
  const prId = newId('pr');
  // No decision follows this one: the anchor kept in the user's repository and in the body covers them all.
  const ledger = await anchorLedger({ store: a.deps.store, run: a.runId, pr: prId, repo: a.request.repo, commit: head, author: a.request.config.author });
  const diffstat = await ws.diffStat();
  const pr: PullRequest = {
    id: prId,
    run: a.runId,
    status: 'open',
    title: `slipway: ${firstLine(a.request.goal).slice(0, 72)}`,
    body: renderPrBody({
      goal: a.request.goal,
      plan: a.plan,
      summary: a.summary,
      diffstat,
      tests: a.outcome.evidence,
      verification: a.verification,
      decisions,
      ledger,
      prId,
      usage: a.budget.usage,
      model: a.deps.model.spec,
    }),
    branch: ws.branch,
    base: ws.base,
    head,
    baseCommit: ws.baseCommit,
    diffstat,
    goal: a.request.goal,
    plan: a.plan,
    tests: a.outcome.evidence,
    verification: a.verification,
    decisions,
    ledger,
    usage: { ...a.budget.usage },
    createdAt: new Date().toISOString(),
  };
  await a.deps.store.createPullRequest(pr);
  return pr;
}

/** Commits what the agent did and fetches the branch into the user's repository, so nothing is lost. */
async function keepBranch(ws: Workspace): Promise<string | null> {
  try {
    await ws.commitAll('slipway: work in progress (escalated)');
    await ws.publishBranch();
    return ws.branch;
  } catch {
    return null;
  }
}

function describeError(error: unknown): { message: string; hint?: string } {
  if (error instanceof ModelError) return { message: error.message, hint: error.hint };
  if (error instanceof WorkspaceError) return { message: error.message, hint: error.hint };
  if (error instanceof HintedError) return { message: error.message, hint: error.hint };
  const message = error instanceof Error ? error.message : String(error);
  return { message: `Unexpected error: ${message}`, hint: 'This is a bug in Slipway; the run log (slipway log <run>) has the details.' };
}

function summarizeFailures(v: Verification | null): string {
  if (!v) return 'none';
  const failed = [...(v.overriddenBy ?? []), ...v.findings.filter((f) => f.verdict === 'fail').map((f) => `${f.check}: ${f.evidence}`)];
  return failed.length ? failed.join('; ').slice(0, 600) : 'none';
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]!.trim();
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
