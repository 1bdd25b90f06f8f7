/**
 * The merge of a pull request as a gated action: what a person is shown (evidence, risk), and the merge
 * itself, performed host-side by Slipway once a person approved it (or the policy allowed it).
 */
import os from 'node:os';
import path from 'node:path';
import type { Decision, EffectiveConfig, Gate, GateRisk, PullRequest, PullRequestEvent, RunStore } from '../protocol/index.js';
import { dependencyCacheRoot, userHome } from './home.js';

export function mergeSubject(pr: PullRequest): string {
  return `${pr.branch} into ${pr.base}`;
}

/** How risky merging looks from the evidence, with the one-line reason. */
export function assessRisk(pr: PullRequest): GateRisk {
  const failures = (pr.tests.after?.failed ?? 0) + pr.tests.newFailures.length;
  if (pr.verification.verdict !== 'pass') return { level: 'high', reason: 'the verifier did not pass every check' };
  if (failures > 0) return { level: 'high', reason: `${failures} tests fail after the change` };
  const files = Number(/(\d+) files? changed/.exec(pr.diffstat)?.[1] ?? 0);
  if (pr.tests.after === null) return { level: 'medium', reason: 'no test results for the change' };
  if (files > 10) return { level: 'medium', reason: `${files} files changed` };
  if (pr.tests.newTests.length === 0) return { level: 'medium', reason: `no new test proves the change${pr.tests.noTestReason ? ` (${pr.tests.noTestReason})` : ''}` };
  return { level: 'low', reason: `${files || 'few'} file(s) changed, every test passes, ${pr.tests.newTests.length} new test(s) proven` };
}

export function pendingMergeGate(id: string, pr: PullRequest, why: string): Gate {
  const now = new Date().toISOString();
  return {
    id,
    run: pr.run,
    pr: pr.id,
    action: 'merge',
    subject: mergeSubject(pr),
    why,
    evidence: {
      diffstat: pr.diffstat,
      testsBefore: pr.tests.before,
      testsAfter: pr.tests.after,
      verdict: pr.verification.verdict,
    },
    risk: assessRisk(pr),
    status: 'pending',
    createdAt: now,
    updatedAt: now,
  };
}

/** Appends to the pull request's history and saves it (with a new status when given). */
export async function notePullRequest(
  store: RunStore,
  pr: PullRequest,
  event: Omit<PullRequestEvent, 'at'>,
  status: PullRequest['status'] = pr.status,
): Promise<PullRequest> {
  const next: PullRequest = { ...pr, status, history: [...(pr.history ?? []), { at: new Date().toISOString(), ...event }] };
  await store.updatePullRequest(next);
  return next;
}

export type PerformedMerge = { ok: true; commit: string; summary: string } | { ok: false; reason: string };

/**
 * Merges the PR into the current base (tests re-run in the sandbox on the merge result, in a fresh clone),
 * records the outcome on the PR and in the ledger. `approvedBy` says whose answer allowed it.
 */
export interface MergeContext {
  store: RunStore;
  pr: PullRequest;
  /** The user's repository. */
  repo: string;
  config: EffectiveConfig;
  /** Files the sandbox hides (the policy's secret files). */
  masks: (relativePath: string) => boolean;
  env: NodeJS.ProcessEnv;
  /** SLIPWAY_HOME: the temporary clone goes under its workspaces/. */
  home: string;
  /** Whose answer allowed the merge, for the ledger: `a person approved gate g-…`. */
  approvedBy: string;
  gate?: string;
}

export async function performMerge({ store, pr, repo, config, masks, env, home, approvedBy, gate }: MergeContext): Promise<PerformedMerge> {
  const workspace = await import('../workspace/index.js');
  const subject = mergeSubject(pr);
  const result = await workspace.mergeIntoBase({
    repo,
    base: pr.base,
    head: pr.head,
    title: `${pr.title} (${pr.id})`,
    author: config.author,
    workDir: path.join(home, 'workspaces', `merge-${gate ?? pr.id}`),
    tests: { ...config.test },
    makeRunner: (dir, network, egressProxySocket, dependencyCache) =>
      workspace.createSandboxRunner({ writableDirs: [dir], network, ...(egressProxySocket ? { egressProxySocket } : {}), home: userHome(env), env, maskFile: masks, dependencyCache }),
    dependencyCache: workspace.createDependencyCache({ root: dependencyCacheRoot(home), maxAgeDays: workspace.cacheDaysFromEnv(env) }),
    ...(env.SLIPWAY_INSTALL_NETWORK === 'full' ? {} : { startEgress: workspace.installEgressStarter({ home: userHome(env), env, socketRoot: os.tmpdir() }) }),
  });
  const gated = gate ? { gate } : {};
  if (!result.ok) {
    const decision: Decision = { action: `merge ${subject}`, by: 'agent', autonomous: false, reason: `not merged: ${result.reason}`, ...(gate ? { evidence: gate } : {}) };
    await store.addDecision(pr.run, decision);
    await notePullRequest(store, pr, { event: 'merge_failed', by: 'slipway', note: result.reason, ...gated });
    return { ok: false, reason: result.reason };
  }
  const summary = `${result.method} of ${pr.base} from ${result.previous.slice(0, 10)} to ${result.commit.slice(0, 10)}; ${result.tests}`;
  await store.addDecision(pr.run, {
    action: `merge ${subject}`,
    by: 'agent',
    autonomous: false,
    // Honest about who did what: Slipway's host-side code merged, not the model, and only on that approval.
    reason: `performed host-side by Slipway (not by the model) after ${approvedBy}: ${summary}`,
    evidence: result.commit,
  });
  await notePullRequest(store, pr, { event: 'merged', by: 'slipway', note: summary, ...gated }, 'merged');
  return { ok: true, commit: result.commit, summary };
}
