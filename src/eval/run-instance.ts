/** One instance: a fresh repository at its base commit, Slipway on the problem statement alone, then the harness. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runGoal } from '../agent/index.js';
import type { CacheMounts, DependencyCache, InstallEgress, LeaseOptions } from '../workspace/index.js';
import type { CommandRunner, EffectiveConfig, ModelClient, RunStore, SlipwayConfig } from '../protocol/index.js';
import { mergeConfig, newId } from '../protocol/index.js';
import { evaluatePatch } from './harness.js';
import type { EvalInstance } from './instances.js';
import { describeUnresolved } from './decide.js';
import { branchPatch, checkoutSource, EVAL_BASE_BRANCH, InstanceError, resolveRepo } from './repo.js';
import { errorResult, instanceDir, type InstanceResult } from './result.js';

export interface RetryNotice {
  attempt: number;
  waitMs: number;
  reason: string;
}

export interface InstanceDeps {
  store: RunStore;
  /** The model for one instance; a shared client (one script for all) may be returned every time. */
  modelFor(instanceId: string, onRetry: (info: RetryNotice) => void): Promise<ModelClient>;
  /**
   * Command runners for the agent's run and for the harness's test run. They should not share writable
   * caches: what the agent leaves in a build cache must not decide the harness's verdict.
   */
  runnersFor(role: 'agent' | 'harness'): (opts: {
    writableDirs: string[];
    seenAs?: string;
    network: boolean;
    egressProxySocket?: string;
    /** The dependency cache's mounts for this command; absent: the runner finds the folder's keys read-only. */
    dependencyCache?: CacheMounts | null;
  }) => CommandRunner;
  /** Registry-only egress for installs (the agent's and the harness's setup_cmd). */
  startEgress?: (repoDir: string) => Promise<InstallEgress>;
  /**
   * The dependency cache of installs (per lockfile hash, with Maven's settings.xml): writable for the install
   * that leases a key, read-only for every other command. Only installs write it, so the harness may read it.
   */
  dependencyCache?: DependencyCache;
  /** Configuration layers after the repository's (user file, flags); the instance's test_cmd/setup_cmd go last. */
  configLayers: SlipwayConfig[];
  /** The repository's own `.slipway/config.json` at a branch; absent: none is read. */
  loadRepoConfig?: (repo: string, base: string) => Promise<SlipwayConfig>;
  signal: AbortSignal;
}

export interface InstanceContext extends InstanceDeps {
  out: string;
  /** Folder of the instances file: relative repository paths are resolved from it. */
  instancesDir: string;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function describe(error: unknown): string {
  const e = error as { message?: string; hint?: string };
  return [e.message ?? String(error), e.hint].filter(Boolean).join(' ');
}

/** Evaluates one instance and returns its result, or null when the evaluation was stopped (it is redone on resume). */
export async function evaluateInstance(instance: EvalInstance, ctx: InstanceContext): Promise<InstanceResult | null> {
  const started = Date.now();
  const id = instance.instance_id;
  const dir = instanceDir(ctx.out, id);
  const work = path.join(dir, 'work');
  const { signal } = ctx;
  const dependencies = ctx.dependencyCache;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  let partial: Partial<InstanceResult> = {};
  const finish = (result: Omit<InstanceResult, 'wall_seconds' | 'finished_at'>): InstanceResult => ({
    ...result,
    wall_seconds: seconds(Date.now() - started),
    finished_at: new Date().toISOString(),
  });
  try {
    const source = path.join(work, 'source');
    const repo = resolveRepo(instance.repo, ctx.instancesDir);
    const baseCommit = await checkoutSource(repo, instance.base_commit, source, signal);
    const config = await configFor(instance, source, ctx);
    const runId = newId('r');
    let model: ModelClient;
    try {
      model = await ctx.modelFor(id, (info) => {
        void ctx.store.appendEvent(runId, { type: 'model_retry', ...info }).catch(() => undefined);
      });
    } catch (error) {
      throw new InstanceError(`no model for this instance: ${describe(error)}`);
    }

    const runStarted = Date.now();
    const outcome = await runGoal(
      { goal: instance.problem_statement, repo: source, base: EVAL_BASE_BRANCH, config, runId },
      {
        store: ctx.store,
        model,
        makeRunner: ctx.runnersFor('agent'),
        ...(ctx.startEgress ? { startEgress: ctx.startEgress } : {}),
        ...(dependencies ? { leaseDependencyCache: (repoDir: string, o: LeaseOptions) => dependencies.lease(repoDir, o) } : {}),
        workspacesDir: path.join(work, 'workspaces'),
        signal,
      },
    );
    if (outcome.status === 'stopped' || signal.aborted) return null;
    const events = await ctx.store.listEvents(runId);
    await writeFile(path.join(dir, 'events.jsonl'), events.map((e) => JSON.stringify({ seq: e.seq, run: e.run, at: e.at, ...e.event })).join('\n') + '\n');
    const record = await ctx.store.getRun(runId);
    const pr = outcome.pr ? await ctx.store.getPullRequest(outcome.pr) : undefined;
    const newTests = pr?.tests.newTests ?? [];
    partial = {
      run: {
        id: runId,
        status: outcome.status,
        pr: outcome.pr,
        branch: outcome.branch,
        ...(outcome.question ? { question: outcome.question } : {}),
        ...(outcome.error ? { error: [outcome.error, outcome.hint].filter(Boolean).join(' ') } : {}),
      },
      steps: record?.steps ?? 0,
      tokens: { input: record?.usage.inputTokens ?? 0, output: record?.usage.outputTokens ?? 0, cached: record?.usage.cachedInputTokens ?? 0 },
      dollars: record?.usage.costUsd ?? 0,
      run_seconds: seconds(Date.now() - runStarted),
      escalations: events.filter((e) => e.event.type === 'escalated').length,
      slipway_tests: pr
        ? {
            proven: newTests.length > 0 && newTests.every((t) => t.failedBefore && t.passedAfter),
            new_tests: newTests.map((t) => ({ test: t.test, file: t.file, failed_before: t.failedBefore, passed_after: t.passedAfter })),
          }
        : null,
      files: { transcript: 'events.jsonl' },
    };
    if (outcome.status === 'failed') {
      return finish(errorResult(id, `the Slipway run failed: ${partial.run?.error ?? 'unknown error'}`, partial));
    }

    const modelPatch = outcome.branch ? await branchPatch(source, baseCommit, outcome.branch) : '';
    await writeFile(path.join(dir, 'model.patch'), modelPatch);
    partial = { ...partial, model_patch: modelPatch, files: { ...partial.files, patch: 'model.patch' } };
    const base = { ...errorResult(id, ''), ...partial };
    if (!modelPatch.trim()) {
      const why = outcome.status === 'escalated' ? `escalated: ${outcome.question ?? ''}` : outcome.status;
      return finish({ ...base, status: 'empty_patch', reason: `the run left no change (${why})` });
    }

    const harness = await evaluatePatch({
      instance,
      source,
      baseCommit,
      modelPatch,
      dir: path.join(work, 'eval'),
      makeRunner: ctx.runnersFor('harness'),
      ...(ctx.startEgress ? { startEgress: ctx.startEgress } : {}),
      ...(dependencies ? { dependencyCache: dependencies } : {}),
      timeoutMs: config.test.timeoutSeconds * 1000,
      signal,
    });
    if (signal.aborted) return null;
    await writeFile(path.join(dir, 'test-output.txt'), harness.output);
    const files = { ...base.files, test_output: 'test-output.txt' };
    if (harness.resolution.resolved) {
      const { reason: _reason, ...rest } = base;
      return finish({ ...rest, status: 'resolved', tests: harness.tests, files });
    }
    return finish({ ...base, status: 'unresolved', reason: describeUnresolved(harness.resolution, harness.tests.note), tests: harness.tests, files });
  } catch (error) {
    if (signal.aborted) return null;
    const reason = error instanceof InstanceError ? error.message : `unexpected error: ${describe(error)}`;
    return finish(errorResult(id, reason, partial));
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function configFor(instance: EvalInstance, source: string, ctx: InstanceContext): Promise<EffectiveConfig> {
  let repoLayer: SlipwayConfig = {};
  if (ctx.loadRepoConfig) {
    try {
      repoLayer = await ctx.loadRepoConfig(source, EVAL_BASE_BRANCH);
    } catch (error) {
      throw new InstanceError(`the repository's configuration is invalid: ${describe(error)}`);
    }
  }
  const test = {
    ...(instance.test_cmd ? { command: instance.test_cmd } : {}),
    ...(instance.setup_cmd ? { install: instance.setup_cmd } : {}),
  };
  return mergeConfig(repoLayer, ...ctx.configLayers, Object.keys(test).length ? { test } : {});
}
