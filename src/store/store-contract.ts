/**
 * The behaviour every RunStore must show, as one vitest suite each adapter runs against itself
 * (`runStoreContract('sqlite', ...)`). The tests never assume an empty store, so an adapter may share one
 * database between tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent, Decision, RunRecord, RunStore } from '../protocol/index.js';
import { HintedError } from '../protocol/index.js';
import { findChainBreak, GENESIS_HASH, hashEntry } from '../policy/ledger.js';
import { sampleGate, samplePlan, samplePullRequest, sampleRun, sampleEvents } from './contract-fixtures.js';
import { StoreError, type StoreErrorKind } from './store-error.js';

export interface ContractStore {
  store: RunStore;
  /** Closes the store (close() must be idempotent) and removes whatever makeStore created. */
  cleanup(): Promise<void>;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

async function expectStoreError(promise: Promise<unknown>, kind: StoreErrorKind, mentions?: string): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  // A HintedError: a run that fails on it says what happened and what to do, not "a bug in Slipway".
  expect(error).toBeInstanceOf(HintedError);
  const storeError = error as StoreError;
  expect(storeError.kind).toBe(kind);
  if (mentions !== undefined) expect(storeError.message).toContain(mentions);
  expect(storeError.hint.length).toBeGreaterThan(0);
  return storeError;
}

export function runStoreContract(name: string, makeStore: () => Promise<ContractStore>): void {
  describe(`RunStore contract: ${name}`, () => {
    let store: RunStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('runs', () => {
      it('creates a pending run with empty usage and reads it back', async () => {
        const input = sampleRun();
        const created = await store.createRun(input);
        expect(created).toEqual<RunRecord>({
          ...input,
          branch: null,
          status: 'pending',
          phase: null,
          question: null,
          error: null,
          prId: null,
          createdAt: expect.stringMatching(ISO) as string,
          updatedAt: created.createdAt,
          usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, modelCalls: 0 },
          steps: 0,
        });
        expect(await store.getRun(input.id)).toEqual(created);
      });

      it('returns undefined for an unknown run', async () => {
        expect(await store.getRun('r-missing0')).toBeUndefined();
      });

      it('refuses a second run with the same id', async () => {
        const input = sampleRun();
        await store.createRun(input);
        await expectStoreError(store.createRun({ ...input, goal: 'other' }), 'conflict', input.id);
        expect((await store.getRun(input.id))?.goal).toBe(input.goal);
      });

      it('applies every field of a patch and moves updatedAt', async () => {
        const created = await store.createRun(sampleRun());
        await tick();
        const usage = { inputTokens: 1500, outputTokens: 300, cachedInputTokens: 200, costUsd: 0.0125, modelCalls: 3 };
        const updated = await store.updateRun(created.id, {
          status: 'escalated',
          phase: 'verify',
          branch: 'slipway/x',
          question: 'Which one?',
          error: 'boom',
          prId: 'pr-12345678',
          steps: 7,
          usage,
        });
        expect(updated).toEqual<RunRecord>({
          ...created,
          status: 'escalated',
          phase: 'verify',
          branch: 'slipway/x',
          question: 'Which one?',
          error: 'boom',
          prId: 'pr-12345678',
          steps: 7,
          usage,
          updatedAt: updated.updatedAt,
        });
        expect(updated.updatedAt).toMatch(ISO);
        expect(updated.updatedAt > created.updatedAt).toBe(true);
        expect(await store.getRun(created.id)).toEqual(updated);
      });

      it('leaves fields out of the patch alone, and clears fields set to null', async () => {
        const created = await store.createRun(sampleRun());
        await store.updateRun(created.id, { phase: 'code', branch: 'b', question: 'q', error: 'e', prId: 'pr-1' });
        const updated = await store.updateRun(created.id, { status: 'coding', question: null, error: null });
        expect(updated).toMatchObject({ status: 'coding', phase: 'code', branch: 'b', question: null, error: null, prId: 'pr-1' });
        const cleared = await store.updateRun(created.id, { phase: null, branch: null, prId: null });
        expect(cleared).toMatchObject({ status: 'coding', phase: null, branch: null, prId: null });
      });

      it('an empty patch only moves updatedAt', async () => {
        const created = await store.createRun(sampleRun());
        await tick();
        const updated = await store.updateRun(created.id, {});
        expect({ ...updated, updatedAt: created.updatedAt }).toEqual(created);
        expect(updated.updatedAt > created.updatedAt).toBe(true);
      });

      it('names the id when updating an unknown run', async () => {
        await expectStoreError(store.updateRun('r-missing0', { status: 'failed' }), 'not_found', 'r-missing0');
        expect(await store.getRun('r-missing0')).toBeUndefined();
      });

      it('lists runs newest first, up to the limit', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await store.createRun(sampleRun({ goal: `goal ${i}` }))).id);
        const newest = await store.listRuns(2);
        expect(newest.map((r) => r.id)).toEqual([ids[2], ids[1]]);
        const all = (await store.listRuns()).map((r) => r.id).filter((id) => ids.includes(id));
        expect(all).toEqual([...ids].reverse());
        expect(await store.listRuns(0)).toEqual([]);
        expect(newest[0]).toEqual(await store.getRun(ids[2]!));
      });

      it('lists a run with its latest state', async () => {
        const created = await store.createRun(sampleRun());
        const updated = await store.updateRun(created.id, { status: 'planning', steps: 1 });
        expect((await store.listRuns(1))[0]).toEqual(updated);
      });
    });

    describe('events', () => {
      it('round-trips one event of every type, in order, with seq and time', async () => {
        const run = await store.createRun(sampleRun());
        const events = Object.values(sampleEvents) as AgentEvent[];
        const before = new Date().toISOString();
        const stored = [];
        for (const event of events) stored.push(await store.appendEvent(run.id, event));
        const after = new Date().toISOString();

        expect(stored.map((s) => s.event)).toEqual(events);
        for (const s of stored) {
          expect(s.run).toBe(run.id);
          expect(s.at).toMatch(ISO);
          expect(s.at >= before && s.at <= after).toBe(true);
          expect(Number.isInteger(s.seq)).toBe(true);
        }
        const seqs = stored.map((s) => s.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(seqs).size).toBe(seqs.length);
        expect(await store.listEvents(run.id)).toEqual(stored);
      });

      it('keeps each run to its own events, seq increasing across runs', async () => {
        const a = await store.createRun(sampleRun());
        const b = await store.createRun(sampleRun());
        const a1 = await store.appendEvent(a.id, { type: 'notice', message: 'a1' });
        const b1 = await store.appendEvent(b.id, { type: 'notice', message: 'b1' });
        const a2 = await store.appendEvent(a.id, { type: 'notice', message: 'a2' });
        expect(a1.seq < b1.seq && b1.seq < a2.seq).toBe(true);
        expect(await store.listEvents(a.id)).toEqual([a1, a2]);
        expect(await store.listEvents(b.id)).toEqual([b1]);
      });

      it('keeps a tool input exactly, nested values included', async () => {
        const run = await store.createRun(sampleRun());
        const input = { path: 'x.ts', n: 1.5, flag: false, none: null, list: [1, 'two', { three: [3] }] };
        await store.appendEvent(run.id, { type: 'tool_call', role: 'coder', step: 1, tool: 'write_file', input });
        const [stored] = await store.listEvents(run.id);
        expect(stored?.event).toEqual({ type: 'tool_call', role: 'coder', step: 1, tool: 'write_file', input });
      });

      it('returns no events for an unknown run', async () => {
        expect(await store.listEvents('r-missing0')).toEqual([]);
      });

      it('refuses an event for an unknown run', async () => {
        await expectStoreError(store.appendEvent('r-missing0', { type: 'notice', message: 'x' }), 'not_found', 'r-missing0');
      });

      it('refuses an event that does not match the protocol, and stores nothing', async () => {
        const run = await store.createRun(sampleRun());
        const bad = { type: 'model_call', role: 'coder', step: 1, inputTokens: 1, outputTokens: 1, costUsd: Number.NaN };
        await expectStoreError(store.appendEvent(run.id, bad as AgentEvent), 'invalid', 'costUsd');
        await expectStoreError(store.appendEvent(run.id, { type: 'nonsense' } as unknown as AgentEvent), 'invalid');
        expect(await store.listEvents(run.id)).toEqual([]);
      });
    });

    describe('plans', () => {
      it('saves, reads back and replaces the plan of a run', async () => {
        const run = await store.createRun(sampleRun());
        expect(await store.getPlan(run.id)).toBeUndefined();
        await store.savePlan(run.id, samplePlan);
        expect(await store.getPlan(run.id)).toEqual(samplePlan);
        const revised = { ...samplePlan, steps: ['Only one step'] };
        await store.savePlan(run.id, revised);
        expect(await store.getPlan(run.id)).toEqual(revised);
      });

      it('keeps the conversation a run rests in, replaces it, forgets it on null, and refuses a damaged one', async () => {
        const run = await store.createRun(sampleRun());
        expect(await store.getConversation(run.id)).toBeUndefined();
        const saved = {
          role: 'coder' as const,
          messages: [
            { role: 'user' as const, content: 'Fix it.' },
            { role: 'assistant' as const, content: '', toolCalls: [{ id: 'c1', name: 'shell', input: { command: 'ls' } }, { id: 'c2', name: 'shell', input: { command: 'npm publish' } }] },
          ],
          results: [{ callId: 'c1', name: 'shell', output: 'a b' }],
        };
        await store.saveConversation(run.id, saved);
        expect(await store.getConversation(run.id)).toEqual(saved);
        await store.saveConversation(run.id, { ...saved, results: [] });
        expect((await store.getConversation(run.id))?.results).toEqual([]);
        await store.saveConversation(run.id, null);
        expect(await store.getConversation(run.id)).toBeUndefined();
        await expectStoreError(store.saveConversation(run.id, { role: 'verifier', messages: [], results: [] } as unknown as typeof saved), 'invalid');
        await expectStoreError(store.saveConversation('r-missing', saved), 'not_found');
      });

      it('keeps plans per run', async () => {
        const a = await store.createRun(sampleRun());
        const b = await store.createRun(sampleRun());
        await store.savePlan(a.id, samplePlan);
        expect(await store.getPlan(b.id)).toBeUndefined();
      });

      it('refuses a plan for an unknown run', async () => {
        await expectStoreError(store.savePlan('r-missing0', samplePlan), 'not_found', 'r-missing0');
      });
    });

    describe('decisions', () => {
      it('lists decisions per run in the order they were made', async () => {
        const a = await store.createRun(sampleRun());
        const b = await store.createRun(sampleRun());
        const made: Decision[] = [
          { action: 'edit src/a.ts', by: 'agent', autonomous: true, reason: 'in the plan' },
          { action: 'run rm -rf build', by: 'policy', autonomous: false, reason: 'ask rule' },
          { action: 'approve', by: 'person', autonomous: false, reason: 'looks right' },
        ];
        await store.addDecision(a.id, made[0]!);
        await store.addDecision(b.id, made[2]!);
        await store.addDecision(a.id, made[1]!);
        await store.addDecision(a.id, made[2]!);
        expect(await store.listDecisions(a.id)).toEqual(made);
        expect(await store.listDecisions(b.id)).toEqual([made[2]]);
        expect(await store.listDecisions('r-missing0')).toEqual([]);
      });

      it('keeps decisions as a hash chain: seq from 1, each entry pointing at the one before', async () => {
        const a = await store.createRun(sampleRun());
        const b = await store.createRun(sampleRun());
        const made: Decision[] = [
          { action: 'edit src/a.ts', by: 'agent', autonomous: true, reason: 'in the plan' },
          { action: 'run rm -rf build', by: 'policy', autonomous: false, reason: 'ask rule', evidence: 'rule 3: shell rm *' },
          { action: 'approve', by: 'person', autonomous: false, reason: 'looks right' },
        ];
        const before = new Date().toISOString();
        for (const d of made) await store.addDecision(a.id, d);
        await store.addDecision(b.id, made[0]!);
        const ledger = await store.listLedger(a.id);
        expect(ledger.map((e) => e.decision)).toEqual(made);
        expect(ledger.map((e) => e.decision)).toEqual(await store.listDecisions(a.id));
        expect(ledger.map((e) => e.seq)).toEqual([1, 2, 3]);
        expect(ledger[0]!.prev).toBe(GENESIS_HASH);
        for (const [i, e] of ledger.entries()) {
          expect(e.run).toBe(a.id);
          expect(e.at).toMatch(ISO);
          expect(e.at >= before).toBe(true);
          expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
          expect(e.hash).toBe(hashEntry(e));
          if (i > 0) expect(e.prev).toBe(ledger[i - 1]!.hash);
        }
        expect(findChainBreak(a.id, ledger)).toBeNull();
        const other = await store.listLedger(b.id);
        expect(other).toHaveLength(1);
        expect(other[0]).toMatchObject({ seq: 1, prev: GENESIS_HASH });
        // Same decision, other run and time: another hash.
        expect(other[0]!.hash).not.toBe(ledger[0]!.hash);
        expect(await store.listLedger('r-missing0')).toEqual([]);
      });

      it('chains decisions recorded at once without forking the chain', async () => {
        const run = await store.createRun(sampleRun());
        await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.addDecision(run.id, { action: `step ${i}`, by: 'agent', autonomous: true, reason: 'r' })),
        );
        const ledger = await store.listLedger(run.id);
        expect(ledger.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        expect(findChainBreak(run.id, ledger)).toBeNull();
      });

      it('refuses a decision for an unknown run', async () => {
        const decision: Decision = { action: 'x', by: 'agent', autonomous: true, reason: 'y' };
        await expectStoreError(store.addDecision('r-missing0', decision), 'not_found', 'r-missing0');
      });
    });

    describe('pull requests', () => {
      it('stores the full pull request and reads it back', async () => {
        const run = await store.createRun(sampleRun());
        const pr = samplePullRequest(run.id);
        await store.createPullRequest(pr);
        expect(await store.getPullRequest(pr.id)).toEqual(pr);
        expect(await store.getPullRequest('pr-missing0')).toBeUndefined();
      });

      it('lists pull requests newest first by createdAt', async () => {
        const run = await store.createRun(sampleRun());
        const base = Date.now();
        const at = (s: number) => new Date(base + s * 1000).toISOString();
        const middle = samplePullRequest(run.id, { createdAt: at(1) });
        const newest = samplePullRequest(run.id, { createdAt: at(2), status: 'merged' });
        const oldest = samplePullRequest(run.id, { createdAt: at(0), status: 'closed' });
        for (const pr of [middle, newest, oldest]) await store.createPullRequest(pr);
        const ours = new Set([middle.id, newest.id, oldest.id]);
        const listed = (await store.listPullRequests()).filter((pr) => ours.has(pr.id));
        expect(listed).toEqual([newest, middle, oldest]);
      });

      it('refuses a second pull request with the same id', async () => {
        const run = await store.createRun(sampleRun());
        const pr = samplePullRequest(run.id);
        await store.createPullRequest(pr);
        await expectStoreError(store.createPullRequest({ ...pr, title: 'other' }), 'conflict', pr.id);
        expect((await store.getPullRequest(pr.id))?.title).toBe(pr.title);
      });

      it('refuses a pull request for an unknown run', async () => {
        await expectStoreError(store.createPullRequest(samplePullRequest('r-missing0')), 'not_found', 'r-missing0');
      });
    });

    describe('pull request updates', () => {
      it('replaces the record, status and history included', async () => {
        const run = await store.createRun(sampleRun());
        const pr = samplePullRequest(run.id);
        await store.createPullRequest(pr);
        const merged = {
          ...pr,
          status: 'merged' as const,
          history: [{ at: new Date().toISOString(), event: 'merged' as const, by: 'slipway' as const, note: 'fast-forward', gate: 'g-12345678' }],
        };
        await store.updatePullRequest(merged);
        expect(await store.getPullRequest(pr.id)).toEqual(merged);
        expect((await store.listPullRequests()).find((p) => p.id === pr.id)?.status).toBe('merged');
      });

      it('refuses to update an unknown pull request', async () => {
        await expectStoreError(store.updatePullRequest(samplePullRequest('r-missing0')), 'not_found');
      });
    });

    describe('gates', () => {
      it('stores a pending gate and reads it back', async () => {
        const run = await store.createRun(sampleRun());
        const gate = sampleGate(run.id);
        await store.createGate(gate);
        expect(await store.getGate(gate.id)).toEqual(gate);
        expect(await store.getGate('g-missing0')).toBeUndefined();
      });

      it('refuses a gate for an unknown run, and a second gate with the same id', async () => {
        await expectStoreError(store.createGate(sampleGate('r-missing0')), 'not_found', 'r-missing0');
        const run = await store.createRun(sampleRun());
        const gate = sampleGate(run.id);
        await store.createGate(gate);
        await expectStoreError(store.createGate(gate), 'conflict', gate.id);
      });

      it('moves a gate only from the state it is in (compare and set)', async () => {
        const run = await store.createRun(sampleRun());
        const gate = sampleGate(run.id);
        await store.createGate(gate);
        const answer = { by: 'person' as const, note: 'ship it', at: new Date().toISOString() };
        const approved = { ...gate, status: 'approved' as const, answer };
        await store.transitionGate(approved, 'pending');
        expect(await store.getGate(gate.id)).toEqual(approved);
        // A second answer finds it approved already.
        await expectStoreError(store.transitionGate({ ...gate, status: 'rejected', answer }, 'pending'), 'conflict', 'approved');
        const done = { ...approved, status: 'done' as const, outcome: 'merged as abc' };
        await store.transitionGate(done, 'approved');
        expect(await store.getGate(gate.id)).toEqual(done);
        await expectStoreError(store.transitionGate(done, 'pending'), 'conflict');
        await expectStoreError(store.transitionGate({ ...done, id: 'g-missing0' }, 'pending'), 'not_found');
      });

      it('lists pending gates first, newest first within each', async () => {
        const run = await store.createRun(sampleRun());
        const base = Date.now();
        const at = (s: number) => new Date(base + s * 1000).toISOString();
        const answer = { by: 'person' as const, reason: 'no', at: at(3) };
        const oldPending = sampleGate(run.id, { createdAt: at(0) });
        const newRejected = sampleGate(run.id, { createdAt: at(2), status: 'rejected', answer });
        const newPending = sampleGate(run.id, { createdAt: at(1) });
        for (const g of [oldPending, newRejected, newPending]) await store.createGate(g);
        const ours = new Set([oldPending.id, newRejected.id, newPending.id]);
        const listed = (await store.listGates()).filter((g) => ours.has(g.id)).map((g) => g.id);
        expect(listed).toEqual([newPending.id, oldPending.id, newRejected.id]);
      });
    });

    describe('close', () => {
      it('can be called twice, and calls after it fail clearly', async () => {
        await store.close();
        await store.close();
        await expectStoreError(store.getRun('r-any'), 'closed');
      });
    });
  });
}
