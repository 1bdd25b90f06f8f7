/** Shipping a run: the pull request (opened, or updated when revised), and keeping a branch that did not ship. */
import type { Decision, Plan, PullRequest, Verification, Workspace } from '../protocol/index.js';
import { newId } from '../protocol/index.js';
import type { Budget } from './budget.js';
import type { TestOutcome } from './phases.js';
import { anchorLedger, renderPrBody } from './pr-body.js';
import type { RunDeps, RunRequest } from './run-goal.js';

/** Commits, publishes the branch, and opens the pull request (or updates the one being revised). */
export async function ship(a: {
  request: RunRequest;
  runId: string;
  workspace: Workspace;
  plan: Plan;
  outcome: TestOutcome;
  verification: Verification;
  summary: string;
  budget: Budget;
  deps: RunDeps;
  decide: (d: Decision) => Promise<void>;
  /** The open pull request this run revises: it is updated in place. */
  revising?: PullRequest;
}): Promise<PullRequest> {
  const ws = a.workspace;
  const head = await ws.commitAll(`slipway: ${firstLine(a.request.goal)}`);
  // The branch is fetched into the user's repository while the decision is recorded and the ledger's note is
  // written there: git notes a commit by its id, whether or not it is there yet. A fetch that fails fails the run
  // (below, once the decision is recorded, as before), and leaves at most a note on a commit the repository never
  // got, which no branch shows (git notes prune removes it).
  const publishing = ws.publishBranch();
  publishing.catch(() => undefined); // awaited below
  // Only reads the clone: runs beside publishing and anchoring.
  const diffstatting = ws.diffStat();
  diffstatting.catch(() => undefined);
  const proof = 'tests show no new failures, every new test is proven, and the verifier passed every check; nothing is merged';
  await a.decide(
    a.revising
      ? { action: `update pull request ${a.revising.id} on ${ws.branch} to ${head.slice(0, 10)}`, by: 'agent', autonomous: true, reason: `the revision a person asked for is done: ${proof}` }
      : { action: `open a pull request from ${ws.branch} into ${ws.base}`, by: 'agent', autonomous: true, reason: proof },
  );
  const decisions = await a.deps.store.listDecisions(a.runId);
  const prId = a.revising?.id ?? newId('pr');
  // No decision follows the last one: the anchor kept in the user's repository and in the body covers them all.
  const anchoring = anchorLedger({ store: a.deps.store, run: a.runId, pr: prId, repo: a.request.repo, commit: head, author: a.request.config.author, gitDir: ws.userGitDir });
  anchoring.catch(() => undefined); // awaited below, after the fetch
  await publishing;
  const ledger = await anchoring;
  const diffstat = await diffstatting;
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
    createdAt: a.revising?.createdAt ?? new Date().toISOString(),
  };
  if (a.revising) {
    const revised: PullRequest = {
      ...pr,
      history: [...(a.revising.history ?? []), { at: new Date().toISOString(), event: 'revised', by: 'slipway', note: `now at ${head.slice(0, 10)}: ${a.summary.slice(0, 300)}` }],
    };
    await a.deps.store.updatePullRequest(revised);
    return revised;
  }
  await a.deps.store.createPullRequest(pr);
  return pr;
}

/** Commits what the agent did and fetches the branch into the user's repository, so nothing is lost. */
export async function keepBranch(ws: Workspace, why: string): Promise<string | null> {
  try {
    await ws.commitAll(`slipway: work in progress (${why})`);
    await ws.publishBranch();
    return ws.branch;
  } catch {
    return null;
  }
}

export function firstLine(text: string): string {
  return text.trim().split('\n')[0]!.trim();
}
