/** `slipway pr list|show` and `slipway log`: read-only views of the store. */
import path from 'node:path';
import type { RunStore } from '../protocol/index.js';
import { describe } from './progress.js';
import { slipwayHome } from './home.js';
import type { Output } from './output.js';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

async function withStore<T>(env: NodeJS.ProcessEnv, fn: (store: RunStore) => Promise<T>): Promise<T> {
  const { openSqliteStore } = await import('../store/index.js');
  const store = await openSqliteStore(path.join(slipwayHome(env), 'slipway.db'));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function prList(out: Output, env: NodeJS.ProcessEnv, json: boolean): Promise<number> {
  return withStore(env, async (store) => {
    const prs = await store.listPullRequests();
    if (json) {
      out.stdout(JSON.stringify(prs.map(({ id, run, status, title, branch, base, head, createdAt }) => ({ id, run, status, title, branch, base, head, createdAt }))));
    } else if (prs.length === 0) {
      out.stdout('No pull requests yet. Start one with: slipway run "<goal>" --repo <path>');
    } else {
      for (const pr of prs) out.stdout(`${pr.id}  ${pr.status.padEnd(6)}  ${pr.branch} -> ${pr.base}  ${pr.title}`);
    }
    return 0;
  });
}

export function prShow(id: string, out: Output, env: NodeJS.ProcessEnv, json: boolean): Promise<number> {
  return withStore(env, async (store) => {
    const pr = await store.getPullRequest(id);
    if (!pr) throw new NotFoundError(`No pull request "${id}". List them with: slipway pr list`);
    if (json) out.stdout(JSON.stringify(pr, null, 2));
    else {
      out.stdout(`# ${pr.title}\n${pr.id} · ${pr.status} · ${pr.branch} -> ${pr.base} · head ${pr.head.slice(0, 10)}\n\n${pr.body}`);
      if (pr.history?.length) out.stdout('## History');
      for (const e of pr.history ?? []) out.stdout(`- ${e.at.slice(0, 19)} ${e.event} by ${e.by}${e.gate ? ` (${e.gate})` : ''}: ${e.note}`);
    }
    return 0;
  });
}

export function showLog(runId: string, out: Output, env: NodeJS.ProcessEnv, json: boolean): Promise<number> {
  return withStore(env, async (store) => {
    const run = await store.getRun(runId);
    if (!run) throw new NotFoundError(`No run "${runId}". Recent runs are listed by: slipway log --list`);
    const events = await store.listEvents(runId);
    if (json) {
      for (const e of events) out.stdout(JSON.stringify({ seq: e.seq, run: e.run, at: e.at, ...e.event }));
      return 0;
    }
    out.stdout(`run ${run.id} · ${run.status} · ${run.goal}\nrepo ${run.repo} · branch ${run.branch ?? '-'} · model ${run.model}`);
    out.stdout(`usage: ${run.usage.modelCalls} model calls, ${run.usage.inputTokens} in / ${run.usage.outputTokens} out tokens, $${run.usage.costUsd.toFixed(4)}`);
    for (const { at, event } of events) {
      const text =
        event.type === 'tool_result'
          ? `[${event.role}] ${event.ok ? '✓' : '✗'} ${event.summary}`
          : event.type === 'phase'
            ? `▸ ${event.phase}`
            : event.type === 'model_call'
              ? `[${event.role}] model call ${event.step} (${event.inputTokens}+${event.outputTokens} tokens)`
              : event.type === 'text'
                ? `[${event.role}] ${event.text.slice(0, 500)}`
                : describe(event);
      if (text) out.stdout(`${at.slice(11, 19)} ${text}`);
    }
    if (run.question) out.stdout(`question: ${run.question}`);
    if (run.error) out.stdout(`error: ${run.error}`);
    return 0;
  });
}

export function listRuns(out: Output, env: NodeJS.ProcessEnv, json: boolean): Promise<number> {
  return withStore(env, async (store) => {
    const runs = await store.listRuns(50);
    if (json) out.stdout(JSON.stringify(runs));
    else for (const r of runs) out.stdout(`${r.id}  ${r.status.padEnd(10)} ${r.createdAt.slice(0, 19)}  ${r.goal.slice(0, 70)}`);
    return 0;
  });
}
