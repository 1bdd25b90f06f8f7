import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent, RunStore } from '../../protocol/index.js';
import { findChainBreak } from '../../policy/ledger.js';
import { samplePlan, samplePullRequest, sampleRun } from '../contract-fixtures.js';
import { keepSqliteStoreOpen, openSqliteStore, StoreError } from '../index.js';
import { runStoreContract } from '../store-contract.js';

runStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-store-'));
  const store = await openSqliteStore(join(dir, 'slipway.db'));
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite store', () => {
  let dir: string;
  let file: string;
  const open: RunStore[] = [];
  const openStore = async (path = file) => {
    const store = await openSqliteStore(path);
    open.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-store-'));
    file = join(dir, 'home', 'nested', 'slipway.db');
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const openError = async (path: string): Promise<StoreError> => {
    const error = await openSqliteStore(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  };

  it('creates the folder and opens the file in WAL mode with foreign keys on', async () => {
    await openStore();
    const raw = new Database(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('application_id', { simple: true })).toBe(0x534c5057);
    raw.close();
  });

  it('keeps everything across close and reopen', async () => {
    const first = await openStore();
    const run = await first.createRun(sampleRun());
    const updated = await first.updateRun(run.id, { status: 'pr_open', phase: 'ship', steps: 9 });
    const event = await first.appendEvent(run.id, { type: 'notice', message: 'hello' });
    await first.savePlan(run.id, samplePlan);
    await first.addDecision(run.id, { action: 'ship', by: 'agent', autonomous: true, reason: 'green' });
    const pr = samplePullRequest(run.id);
    await first.createPullRequest(pr);
    await first.close();

    const second = await openStore();
    expect(await second.getRun(run.id)).toEqual(updated);
    expect(await second.listEvents(run.id)).toEqual([event]);
    expect(await second.getPlan(run.id)).toEqual(samplePlan);
    expect(await second.listDecisions(run.id)).toHaveLength(1);
    expect(await second.listPullRequests()).toEqual([pr]);
    // Sequence numbers go on from where they were.
    expect((await second.appendEvent(run.id, { type: 'notice', message: 'again' })).seq).toBeGreaterThan(event.seq);
  });

  it('commits every call at once: another connection sees it while the writer is still open', async () => {
    const writer = await openStore();
    const run = await writer.createRun(sampleRun());
    await writer.appendEvent(run.id, { type: 'notice', message: 'written' });
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM events WHERE run = ?').get(run.id)).toEqual({ n: 1 });
    raw.close();
  });

  it('refuses to update or delete events (database triggers)', async () => {
    const store = await openStore();
    const run = await store.createRun(sampleRun());
    await store.appendEvent(run.id, { type: 'notice', message: 'evidence' });
    const raw = new Database(file);
    expect(() => raw.prepare("UPDATE events SET json = '{}'").run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM events').run()).toThrow(/append-only/);
    raw.close();
    expect(await store.listEvents(run.id)).toHaveLength(1);
  });

  it('refuses to update or delete decisions, the ledger (database triggers)', async () => {
    const store = await openStore();
    const run = await store.createRun(sampleRun());
    await store.addDecision(run.id, { action: 'ship', by: 'agent', autonomous: true, reason: 'green' });
    const raw = new Database(file);
    expect(() => raw.prepare("UPDATE decisions SET json = '{}'").run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM decisions').run()).toThrow(/append-only/);
    raw.close();
    expect(findChainBreak(run.id, await store.listLedger(run.id))).toBeNull();
  });

  it('two stores on one file: interleaved decisions form one unbroken chain', async () => {
    const a = await openStore();
    const b = await openStore();
    const run = await a.createRun(sampleRun());
    const decision = (action: string) => ({ action, by: 'agent' as const, autonomous: true, reason: 'r' });
    const writes = [];
    for (let i = 0; i < 20; i++) writes.push(a.addDecision(run.id, decision(`a${i}`)), b.addDecision(run.id, decision(`b${i}`)));
    await Promise.all(writes);
    const ledger = await b.listLedger(run.id);
    expect(ledger).toHaveLength(40);
    expect(findChainBreak(run.id, ledger)).toBeNull();
  });

  it('chains the decisions of a store written before the ledger when it is opened', async () => {
    const first = await openStore();
    const run = await first.createRun(sampleRun());
    const made = [
      { action: 'one', by: 'agent' as const, autonomous: true, reason: 'r1' },
      { action: 'two', by: 'person' as const, autonomous: false, reason: 'r2' },
    ];
    for (const d of made) await first.addDecision(run.id, d);
    await first.close();
    // Take the file back to the schema before 0002: no hash columns, no triggers (and none of the later migrations).
    const raw = new Database(file);
    raw.exec(`DROP TRIGGER decisions_no_update; DROP TRIGGER decisions_no_delete;
      ALTER TABLE decisions DROP COLUMN hash; ALTER TABLE decisions DROP COLUMN prev_hash;
      DROP TABLE gates; DROP TABLE conversations;
      DELETE FROM slipway_migration WHERE name IN ('0002_decision_ledger', '0003_gates', '0004_conversations');`);
    raw.close();

    const second = await openStore();
    const ledger = await second.listLedger(run.id);
    expect(ledger.map((e) => e.decision)).toEqual(made);
    expect(findChainBreak(run.id, ledger)).toBeNull();
    await second.addDecision(run.id, { action: 'three', by: 'agent', autonomous: true, reason: 'r3' });
    expect(findChainBreak(run.id, await second.listLedger(run.id))).toBeNull();
    const check = new Database(file);
    expect(() => check.prepare('DELETE FROM decisions').run()).toThrow(/append-only/);
    check.close();
  });

  it('says what to do with a file that is not a SQLite database, and leaves it alone', async () => {
    const path = join(dir, 'notes.db');
    const text = 'these are my notes, not a database\n'.repeat(20);
    await writeFile(path, text);
    const error = await openError(path);
    expect(error.kind).toBe('not_a_store');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/not a SQLite database/);
    expect(error.message).toMatch(/move it aside|SLIPWAY_HOME/i);
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it("refuses another program's SQLite database", async () => {
    const path = join(dir, 'other.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE contacts (name TEXT)');
    raw.close();
    const error = await openError(path);
    expect(error.kind).toBe('not_a_store');
    expect(error.message).toMatch(/not a Slipway store/);
  });

  it('refuses a store written by a newer Slipway, and names what to do', async () => {
    await (await openStore()).close();
    const raw = new Database(file);
    raw.prepare('INSERT INTO slipway_migration (name, timestamp) VALUES (?, ?)').run('0999_future', new Date().toISOString());
    raw.close();
    const error = await openError(file);
    expect(error.kind).toBe('newer_schema');
    expect(error.message).toContain('0999_future');
    expect(error.message).toMatch(/Upgrade Slipway/);
  });

  it('says so when the path cannot be opened', async () => {
    const error = await openError(dir); // a folder, not a file
    expect(error.kind).toBe('unavailable');
    expect(error.message).toContain(dir);
  });

  describe('damaged rows fail clearly instead of returning garbage', () => {
    let store: RunStore;
    let runId: string;
    let raw: Database.Database;
    beforeEach(async () => {
      store = await openStore();
      runId = (await store.createRun(sampleRun())).id;
      raw = new Database(file);
    });
    afterEach(() => raw.close());

    it('a run with an unknown status', async () => {
      raw.prepare("UPDATE runs SET status = 'dancing' WHERE id = ?").run(runId);
      await expect(store.getRun(runId)).rejects.toMatchObject({ kind: 'corrupt', message: expect.stringContaining(runId) });
    });

    it('a plan that is not JSON', async () => {
      raw.prepare('INSERT INTO plans (run, json) VALUES (?, ?)').run(runId, '{"summary": "cut off');
      await expect(store.getPlan(runId)).rejects.toMatchObject({ kind: 'corrupt', message: expect.stringMatching(/not valid JSON/) });
    });

    it('an event that no longer matches the protocol', async () => {
      const insert = raw.prepare('INSERT INTO events (run, at, type, json) VALUES (?, ?, ?, ?)');
      insert.run(runId, 'x', 'phase', '{"type":"phase","phase":"dance"}');
      await expect(store.listEvents(runId)).rejects.toMatchObject({ kind: 'corrupt', message: expect.stringMatching(/phase/) });
    });

    it('a pull request with a missing field', async () => {
      const pr = samplePullRequest(runId);
      const { title: _dropped, ...rest } = pr;
      raw
        .prepare('INSERT INTO pull_requests (id, run, status, json, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(pr.id, runId, 'open', JSON.stringify(rest), pr.createdAt);
      await expect(store.getPullRequest(pr.id)).rejects.toMatchObject({ kind: 'corrupt', message: expect.stringMatching(/title/) });
      await expect(store.listPullRequests()).rejects.toBeInstanceOf(StoreError);
    });
  });

  it('two stores on one file: interleaved appends all land, in one sequence', async () => {
    const a = await openStore();
    const b = await openStore();
    const run = await a.createRun(sampleRun());
    const notice = (message: string): AgentEvent => ({ type: 'notice', message });
    const writes = [];
    for (let i = 0; i < 50; i++) {
      writes.push(a.appendEvent(run.id, notice(`a${i}`)), b.appendEvent(run.id, notice(`b${i}`)));
    }
    const stored = await Promise.all(writes);
    expect(new Set(stored.map((s) => s.seq)).size).toBe(100);
    const listed = await b.listEvents(run.id);
    expect(listed).toHaveLength(100);
    expect(listed.map((s) => s.seq)).toEqual(stored.map((s) => s.seq).sort((x, y) => x - y));
    expect(await a.listEvents(run.id)).toEqual(listed);
  });

  it('two stores opened at once on a fresh file both work', async () => {
    const [a, b] = await Promise.all([openStore(), openStore()]);
    const run = await a!.createRun(sampleRun());
    await b!.appendEvent(run.id, { type: 'notice', message: 'from b' });
    expect(await a!.listEvents(run.id)).toHaveLength(1);
  });

  it('waits for another process holding the write lock instead of failing', async () => {
    const store = await openStore();
    const run = await store.createRun(sampleRun());
    // A second process takes the write lock, appends an event, and holds the lock for 300 ms.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.pragma('busy_timeout = 5000');
         db.exec('BEGIN IMMEDIATE');
         db.prepare('INSERT INTO events (run, at, type, json) VALUES (?, ?, ?, ?)')
           .run(process.argv[2], new Date().toISOString(), 'notice', JSON.stringify({ type: 'notice', message: 'from the other process' }));
         process.stdout.write('locked\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
         db.exec('COMMIT');
         db.close();`,
        file,
        run.id,
      ],
      { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const mine = await store.appendEvent(run.id, { type: 'notice', message: 'from this process' });
    expect(await exited).toBe(0);
    const events = await store.listEvents(run.id);
    expect(events.map((e) => e.event)).toEqual([
      { type: 'notice', message: 'from the other process' },
      { type: 'notice', message: 'from this process' },
    ]);
    expect(events[1]).toEqual(mine);
  });
});

describe('sqlite store kept open between commands (the daemon)', () => {
  let dir: string;
  let closeKept: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-store-kept-'));
    closeKept = await keepSqliteStoreOpen();
  });
  afterEach(async () => {
    await closeKept?.();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps one connection from command to command, and sees another process\'s writes through it', async () => {
    const file = join(dir, 'slipway.db');
    const first = await openSqliteStore(file);
    await first.createRun(sampleRun({ id: 'r-kept1' }));
    await first.close();
    // Still open: SQLite removes the write-ahead log when the last connection to a file closes.
    expect(existsSync(`${file}-wal`)).toBe(true);
    const raw = new Database(file);
    raw.pragma('busy_timeout = 1000');
    raw.prepare("UPDATE runs SET goal = 'changed elsewhere' WHERE id = ?").run('r-kept1');
    raw.close();
    const second = await openSqliteStore(file);
    expect((await second.getRun('r-kept1'))?.goal).toBe('changed elsewhere');
    await second.close();
    await closeKept?.();
    closeKept = undefined;
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('opens afresh a store removed or replaced meanwhile, and checks the schema again on every open', async () => {
    const file = join(dir, 'slipway.db');
    const first = await openSqliteStore(file);
    await first.createRun(sampleRun({ id: 'r-old' }));
    await first.close();
    await rm(file, { force: true });
    await rm(`${file}-wal`, { force: true });
    await rm(`${file}-shm`, { force: true });
    const fresh = await openSqliteStore(file);
    expect(await fresh.getRun('r-old')).toBeUndefined();
    await fresh.createRun(sampleRun({ id: 'r-new' }));
    await fresh.close();
    // A newer Slipway migrated the same file meanwhile: refused, as a fresh open refuses it.
    const raw = new Database(file);
    raw.pragma('busy_timeout = 1000');
    raw.prepare('INSERT INTO slipway_migration (name, timestamp) VALUES (?, ?)').run('0999_future', new Date().toISOString());
    raw.close();
    const error = await openSqliteStore(file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).kind).toBe('newer_schema');
  });
});
