/** The RunStore port over one SQLite file. Every call commits before it returns: nothing is buffered. */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { z } from 'zod';
import type {
  AgentEvent,
  Decision,
  Gate,
  GateStatus,
  LedgerEntry,
  NewRun,
  Plan,
  SavedConversation,
  PullRequest,
  RunPatch,
  RunRecord,
  RunStore,
  StoredEvent,
} from '../../protocol/index.js';
import {
  agentEventSchema,
  checkStored,
  decisionSchema,
  gateSchema,
  phaseSchema,
  planSchema,
  conversationSchema,
  pullRequestSchema,
  runStatusSchema,
} from '../schemas.js';
import { GENESIS_HASH } from '../../policy/ledger.js';
import { StoreError } from '../store-error.js';
import { BUSY_TIMEOUT_MS, LEDGER_HASH_FUNCTION, messageOf, openDatabase, sqliteCode } from './open.js';
import type { RunsTable, Tables } from './tables.js';

/**
 * Opens the SQLite store at `file`, creating the file and its folder when absent. Throws StoreError when
 * the file is not a Slipway store, was written by a newer Slipway, or cannot be opened.
 */
export async function openSqliteStore(file: string): Promise<RunStore> {
  const { db, release } = await openDatabase(file);
  return new SqliteRunStore(db, file, release);
}

/** What a failed constraint means for one call. */
interface Constraints {
  /** The record's own id already exists. */
  conflict?: string;
  /** A run the record points at does not exist. */
  missingRun?: string;
}

class SqliteRunStore implements RunStore {
  #db: Kysely<Tables> | undefined;

  constructor(
    db: Kysely<Tables>,
    private readonly file: string,
    private readonly release: () => Promise<void>,
  ) {
    this.#db = db;
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    const now = timestamp();
    const row: Selectable<RunsTable> = {
      id: run.id,
      goal: run.goal,
      repo: run.repo,
      base: run.base,
      branch: null,
      model: run.model,
      status: 'pending',
      phase: null,
      question: null,
      error: null,
      pr_id: null,
      steps: 0,
      input_tokens: 0,
      output_tokens: 0,
      cached_input_tokens: 0,
      cost_usd: 0,
      model_calls: 0,
      created_at: now,
      updated_at: now,
    };
    await this.#call({ conflict: `A run with id ${run.id} already exists.` }, (db) =>
      db.insertInto('runs').values(row).execute(),
    );
    return this.#toRun(row);
  }

  async updateRun(id: string, patch: RunPatch): Promise<RunRecord> {
    const row = await this.#call({}, (db) =>
      db
        .updateTable('runs')
        .set({
          ...(patch.status !== undefined && { status: patch.status }),
          ...(patch.phase !== undefined && { phase: patch.phase }),
          ...(patch.branch !== undefined && { branch: patch.branch }),
          ...(patch.question !== undefined && { question: patch.question }),
          ...(patch.error !== undefined && { error: patch.error }),
          ...(patch.prId !== undefined && { pr_id: patch.prId }),
          ...(patch.steps !== undefined && { steps: patch.steps }),
          ...(patch.usage !== undefined && {
            input_tokens: patch.usage.inputTokens,
            output_tokens: patch.usage.outputTokens,
            cached_input_tokens: patch.usage.cachedInputTokens,
            cost_usd: patch.usage.costUsd,
            model_calls: patch.usage.modelCalls,
          }),
          updated_at: timestamp(),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst(),
    );
    if (row === undefined) {
      throw new StoreError(
        'not_found',
        `Cannot update run ${id}: no such run.`,
        'Check the run id; it may belong to another store (SLIPWAY_HOME).',
      );
    }
    return this.#toRun(row);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = await this.#call({}, (db) => db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst());
    return row && this.#toRun(row);
  }

  async listRuns(limit?: number): Promise<RunRecord[]> {
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
      throw new RangeError(`listRuns: limit must be a non-negative integer, got ${limit}`);
    }
    const rows = await this.#call({}, (db) => {
      // rowid breaks ties between runs created in the same millisecond.
      let query = db.selectFrom('runs').selectAll().orderBy('created_at', 'desc').orderBy(sql`rowid`, 'desc');
      if (limit !== undefined) query = query.limit(limit);
      return query.execute();
    });
    return rows.map((row) => this.#toRun(row));
  }

  async appendEvent(run: string, event: AgentEvent): Promise<StoredEvent> {
    const json = encode(agentEventSchema, event, `event ${event.type}`);
    const at = timestamp();
    const { seq } = await this.#call({ missingRun: `Cannot record an event for run ${run}: no such run.` }, (db) =>
      db.insertInto('events').values({ run, at, type: event.type, json }).returning('seq').executeTakeFirstOrThrow(),
    );
    // What listEvents will read back: the JSON just written, already checked on the way in (no second check).
    return { seq, run, at, event: JSON.parse(json) as AgentEvent };
  }

  async listEvents(run: string): Promise<StoredEvent[]> {
    const rows = await this.#call({}, (db) =>
      db.selectFrom('events').select(['seq', 'run', 'at', 'json']).where('run', '=', run).orderBy('seq').execute(),
    );
    return rows.map((r) => ({
      seq: r.seq,
      run: r.run,
      at: r.at,
      event: this.#decode(agentEventSchema, r.json, `event ${r.seq} of run ${run}`),
    }));
  }

  async savePlan(run: string, plan: Plan): Promise<void> {
    const json = encode(planSchema, plan, 'plan');
    await this.#call({ missingRun: `Cannot save a plan for run ${run}: no such run.` }, (db) =>
      db
        .insertInto('plans')
        .values({ run, json })
        .onConflict((oc) => oc.column('run').doUpdateSet({ json }))
        .execute(),
    );
  }

  async getPlan(run: string): Promise<Plan | undefined> {
    const row = await this.#call({}, (db) =>
      db.selectFrom('plans').select('json').where('run', '=', run).executeTakeFirst(),
    );
    return row && this.#decode(planSchema, row.json, `the plan of run ${run}`);
  }

  async saveConversation(run: string, conversation: SavedConversation | null): Promise<void> {
    if (conversation === null) {
      await this.#call({}, (db) => db.deleteFrom('conversations').where('run', '=', run).execute());
      return;
    }
    const json = encode(conversationSchema, conversation, 'conversation');
    await this.#call({ missingRun: `Cannot save a conversation for run ${run}: no such run.` }, (db) =>
      db
        .insertInto('conversations')
        .values({ run, json })
        .onConflict((oc) => oc.column('run').doUpdateSet({ json }))
        .execute(),
    );
  }

  async getConversation(run: string): Promise<SavedConversation | undefined> {
    const row = await this.#call({}, (db) => db.selectFrom('conversations').select('json').where('run', '=', run).executeTakeFirst());
    return row && this.#decode(conversationSchema, row.json, `the saved conversation of run ${run}`);
  }

  async addDecision(run: string, decision: Decision): Promise<void> {
    const json = encode(decisionSchema, decision, 'decision');
    const at = timestamp();
    await this.#call({ missingRun: `Cannot record a decision for run ${run}: no such run.` }, (db) =>
      // One statement reads the last entry and chains onto it, so it runs under the write lock and two
      // writers can never fork the chain; the hash is computed by slipway_ledger_hash (open.ts).
      sql`INSERT INTO decisions (run, seq, json, at, prev_hash, hash)
        SELECT ${run}, next.seq, ${json}, ${at}, next.prev,
               ${sql.raw(LEDGER_HASH_FUNCTION)}(next.seq, ${run}, next.prev, ${at}, ${json})
        FROM (SELECT coalesce((SELECT max(seq) FROM decisions WHERE run = ${run}), 0) + 1 AS seq,
                     coalesce((SELECT hash FROM decisions WHERE run = ${run} ORDER BY seq DESC LIMIT 1), ${GENESIS_HASH}) AS prev
             ) AS next`.execute(db),
    );
  }

  async listDecisions(run: string): Promise<Decision[]> {
    const rows = await this.#call({}, (db) =>
      db.selectFrom('decisions').select(['seq', 'json']).where('run', '=', run).orderBy('seq').execute(),
    );
    return rows.map((r) => this.#decode(decisionSchema, r.json, `decision ${r.seq} of run ${run}`));
  }

  async listLedger(run: string): Promise<LedgerEntry[]> {
    const rows = await this.#call({}, (db) =>
      db
        .selectFrom('decisions')
        .select(['seq', 'run', 'at', 'prev_hash', 'hash', 'json'])
        .where('run', '=', run)
        .orderBy('seq')
        .execute(),
    );
    // A missing hash is kept as '' rather than refused: verifying the chain is what should name it.
    return rows.map((r) => ({
      seq: r.seq,
      run: r.run,
      at: r.at,
      prev: r.prev_hash ?? '',
      hash: r.hash ?? '',
      decision: this.#decode(decisionSchema, r.json, `decision ${r.seq} of run ${run}`),
    }));
  }

  async createPullRequest(pr: PullRequest): Promise<void> {
    const json = encode(pullRequestSchema, pr, 'pull request');
    await this.#call(
      {
        conflict: `A pull request with id ${pr.id} already exists.`,
        missingRun: `Cannot record pull request ${pr.id} for run ${pr.run}: no such run.`,
      },
      (db) =>
        db
          .insertInto('pull_requests')
          .values({ id: pr.id, run: pr.run, status: pr.status, json, created_at: pr.createdAt })
          .execute(),
    );
  }

  async getPullRequest(id: string): Promise<PullRequest | undefined> {
    const row = await this.#call({}, (db) =>
      db.selectFrom('pull_requests').select('json').where('id', '=', id).executeTakeFirst(),
    );
    return row && this.#decode(pullRequestSchema, row.json, `pull request ${id}`);
  }

  async listPullRequests(): Promise<PullRequest[]> {
    const rows = await this.#call({}, (db) =>
      db
        .selectFrom('pull_requests')
        .select(['id', 'json'])
        .orderBy('created_at', 'desc')
        .orderBy(sql`rowid`, 'desc')
        .execute(),
    );
    return rows.map((r) => this.#decode(pullRequestSchema, r.json, `pull request ${r.id}`));
  }

  async updatePullRequest(pr: PullRequest): Promise<void> {
    const json = encode(pullRequestSchema, pr, 'pull request');
    const result = await this.#call({}, (db) =>
      db.updateTable('pull_requests').set({ status: pr.status, json }).where('id', '=', pr.id).executeTakeFirst(),
    );
    if (result.numUpdatedRows === 0n) {
      throw new StoreError('not_found', `Cannot update pull request ${pr.id}: no such pull request.`, 'Check the id with: slipway pr list');
    }
  }

  async createGate(gate: Gate): Promise<void> {
    const json = encode(gateSchema, gate, 'gate');
    await this.#call(
      {
        conflict: `A gate with id ${gate.id} already exists.`,
        missingRun: `Cannot record gate ${gate.id} for run ${gate.run}: no such run.`,
      },
      (db) =>
        db
          .insertInto('gates')
          .values({ id: gate.id, run: gate.run, pr: gate.pr ?? null, status: gate.status, json, created_at: gate.createdAt })
          .execute(),
    );
  }

  async getGate(id: string): Promise<Gate | undefined> {
    const row = await this.#call({}, (db) => db.selectFrom('gates').select('json').where('id', '=', id).executeTakeFirst());
    return row && this.#decode(gateSchema, row.json, `gate ${id}`);
  }

  async listGates(): Promise<Gate[]> {
    const rows = await this.#call({}, (db) =>
      db
        .selectFrom('gates')
        .select(['id', 'json'])
        .orderBy(sql`status = 'pending'`, 'desc')
        .orderBy('created_at', 'desc')
        .orderBy(sql`rowid`, 'desc')
        .execute(),
    );
    return rows.map((r) => this.#decode(gateSchema, r.json, `gate ${r.id}`));
  }

  async transitionGate(next: Gate, from: GateStatus): Promise<void> {
    const json = encode(gateSchema, next, 'gate');
    const result = await this.#call({}, (db) =>
      db
        .updateTable('gates')
        .set({ status: next.status, json })
        .where('id', '=', next.id)
        .where('status', '=', from)
        .executeTakeFirst(),
    );
    if (result.numUpdatedRows > 0n) return;
    const current = await this.getGate(next.id);
    if (!current) throw new StoreError('not_found', `No gate ${next.id}.`, 'List gates with: slipway gates');
    throw new StoreError(
      'conflict',
      `Gate ${next.id} is ${current.status}, not ${from}: it was answered already.`,
      'See it with: slipway gates',
    );
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db) await this.release();
  }

  /** Runs one statement, turning SQLite failures into StoreErrors that say what to do. */
  async #call<T>(constraints: Constraints, statement: (db: Kysely<Tables>) => Promise<T>): Promise<T> {
    const db = this.#db;
    if (db === undefined) {
      throw new StoreError(
        'closed',
        `The Slipway store ${this.file} was used after it was closed.`,
        'This is a bug in Slipway; please report it.',
      );
    }
    try {
      return await statement(db);
    } catch (error) {
      throw this.#translate(error, constraints);
    }
  }

  #translate(error: unknown, constraints: Constraints): unknown {
    const code = sqliteCode(error);
    if (code === undefined) return error;
    const options = { cause: error };
    if ((code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') && constraints.conflict) {
      return new StoreError('conflict', constraints.conflict, 'Use a new id.', options);
    }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' && constraints.missingRun) {
      return new StoreError('not_found', constraints.missingRun, 'Create the run first (createRun).', options);
    }
    if (code.startsWith('SQLITE_BUSY')) {
      return new StoreError(
        'unavailable',
        `The Slipway store ${this.file} stayed locked by another process for more than ${BUSY_TIMEOUT_MS / 1000} s.`,
        'Try again when the other Slipway process has finished writing.',
        options,
      );
    }
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
      return new StoreError(
        'corrupt',
        `The Slipway store ${this.file} is damaged: ${messageOf(error)}.`,
        'Restore it from a backup, or move it aside (or set SLIPWAY_HOME) to start a fresh store.',
        options,
      );
    }
    if (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR')) {
      return new StoreError(
        'unavailable',
        `Could not write to the Slipway store ${this.file}: ${messageOf(error)}.`,
        'Check free disk space and the file permissions, then try again.',
        options,
      );
    }
    return error;
  }

  #toRun(row: Selectable<RunsTable>): RunRecord {
    const status = runStatusSchema.safeParse(row.status);
    const phase = phaseSchema.nullable().safeParse(row.phase);
    // Typed as numbers, but a SQLite column holds whatever a hand edit put there.
    const counters: Record<string, unknown> = {
      steps: row.steps,
      input_tokens: row.input_tokens,
      output_tokens: row.output_tokens,
      cached_input_tokens: row.cached_input_tokens,
      cost_usd: row.cost_usd,
      model_calls: row.model_calls,
    };
    const bad = Object.entries(counters).find(([, n]) => typeof n !== 'number' || !Number.isFinite(n));
    const what = `run ${row.id}`;
    if (!status.success) throw this.#corrupt(what, `unknown status ${JSON.stringify(row.status)}`);
    if (!phase.success) throw this.#corrupt(what, `unknown phase ${JSON.stringify(row.phase)}`);
    if (bad) throw this.#corrupt(what, `${bad[0]} should be a number, holds ${JSON.stringify(bad[1])}`);
    return {
      id: row.id,
      goal: row.goal,
      repo: row.repo,
      base: row.base,
      branch: row.branch,
      model: row.model,
      status: status.data,
      phase: phase.data,
      question: row.question,
      error: row.error,
      prId: row.pr_id,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      usage: {
        inputTokens: row.input_tokens,
        outputTokens: row.output_tokens,
        cachedInputTokens: row.cached_input_tokens,
        costUsd: row.cost_usd,
        modelCalls: row.model_calls,
      },
      steps: row.steps,
    };
  }

  #decode<T>(schema: z.ZodType<T>, json: string, what: string): T {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw this.#corrupt(what, `not valid JSON (${messageOf(error)})`);
    }
    const checked = checkStored(schema, value);
    if (!checked.ok) throw this.#corrupt(what, checked.problem);
    return checked.value;
  }

  #corrupt(what: string, problem: string): StoreError {
    return new StoreError(
      'corrupt',
      `The Slipway store ${this.file} holds a damaged record: ${what}: ${problem}.`,
      'Restore the file from a backup, or move it aside (or set SLIPWAY_HOME) to start a fresh store.',
    );
  }
}

/**
 * Serialises a record after checking it against the protocol. Checked on the way in as well as out:
 * the event log is append-only, so a bad event written once could never be corrected.
 */
function encode<T>(schema: z.ZodType<T>, value: T, what: string): string {
  const checked = checkStored(schema, value);
  if (!checked.ok) {
    throw new StoreError(
      'invalid',
      `Refused to store a ${what} that does not match the protocol: ${checked.problem}.`,
      'This is a bug in Slipway; please report it.',
    );
  }
  return JSON.stringify(value);
}

function timestamp(): string {
  return new Date().toISOString();
}
