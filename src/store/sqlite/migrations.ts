/**
 * The SQLite schema as an ordered list of migrations. Never edit a migration that has shipped: add the
 * next one (`0002_...`), since stores in the wild already ran the old ones.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Decision } from '../../protocol/index.js';
import { GENESIS_HASH, hashEntry } from '../../policy/ledger.js';
import { StoreError } from '../store-error.js';

/** Written into the file header (PRAGMA application_id) so another program's database is recognised. */
export const APPLICATION_ID = 0x534c5057; // "SLPW"

// Migrations run against a schema that changes under them, so they take an untyped Kysely.
type AnyDb = Kysely<Record<string, never>>;

export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: AnyDb) {
      await sql.raw(`PRAGMA application_id = ${APPLICATION_ID}`).execute(db);

      await db.schema
        .createTable('runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('goal', 'text', (c) => c.notNull())
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('base', 'text', (c) => c.notNull())
        .addColumn('branch', 'text')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('phase', 'text')
        .addColumn('question', 'text')
        .addColumn('error', 'text')
        .addColumn('pr_id', 'text')
        .addColumn('steps', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('input_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('output_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cached_input_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cost_usd', 'real', (c) => c.notNull().defaultTo(0))
        .addColumn('model_calls', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('runs_created_at').on('runs').column('created_at').execute();

      await db.schema
        .createTable('events')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('run', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('json', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_run_seq').on('events').columns(['run', 'seq']).execute();
      // The event log is evidence of what the agent did: the database itself refuses to rewrite it.
      await sql`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only: they cannot be updated'); END`.execute(db);
      await sql`CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only: they cannot be deleted'); END`.execute(db);

      await db.schema
        .createTable('plans')
        .addColumn('run', 'text', (c) => c.primaryKey().references('runs.id'))
        .addColumn('json', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('decisions')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('run', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('json', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addUniqueConstraint('decisions_run_seq', ['run', 'seq'])
        .execute();

      await db.schema
        .createTable('pull_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('run', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pull_requests_created_at').on('pull_requests').column('created_at').execute();
      await db.schema.createIndex('pull_requests_run').on('pull_requests').column('run').execute();
    },
  },

  // Decisions become a tamper-evident ledger: each row keeps the hash of the one before it (policy/ledger.ts).
  '0002_decision_ledger': {
    async up(db: AnyDb) {
      await sql`ALTER TABLE decisions ADD COLUMN prev_hash text`.execute(db);
      await sql`ALTER TABLE decisions ADD COLUMN hash text`.execute(db);
      // Decisions recorded before the ledger are chained as they stand now.
      const rows = await sql<{ id: number; run: string; seq: number; json: string; at: string }>`
        SELECT id, run, seq, json, at FROM decisions ORDER BY run, seq`.execute(db);
      let previous: { run: string; hash: string } | undefined;
      for (const row of rows.rows) {
        const prev = previous?.run === row.run ? previous.hash : GENESIS_HASH;
        let decision: Decision;
        try {
          decision = JSON.parse(row.json) as Decision;
        } catch {
          continue; // left without a hash: `slipway ledger --verify` names it as damaged
        }
        const hash = hashEntry({ seq: row.seq, run: row.run, prev, at: row.at, decision });
        await sql`UPDATE decisions SET prev_hash = ${prev}, hash = ${hash} WHERE id = ${row.id}`.execute(db);
        previous = { run: row.run, hash };
      }
      // Like the event log, the ledger is evidence: the database itself refuses to rewrite it.
      await sql`CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: they cannot be updated'); END`.execute(db);
      await sql`CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: they cannot be deleted'); END`.execute(db);
    },
  },

  // Approval gates: durable rows a person answers from the host (slipway approve / reject).
  '0003_gates': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('gates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('run', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('pr', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('gates_status_created_at').on('gates').columns(['status', 'created_at']).execute();
    },
  },

  // The conversation a run rests in at a gate, so approving it goes on from the very tool call.
  '0004_conversations': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('conversations')
        .addColumn('run', 'text', (c) => c.primaryKey().references('runs.id'))
        .addColumn('json', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

export const MIGRATION_TABLE = 'slipway_migration';
export const MIGRATION_LOCK_TABLE = 'slipway_migration_lock';

/**
 * Refuses a file Slipway should not migrate: another program's database, or one written by a newer
 * Slipway (it ran migrations this build does not know, so its rows may not mean what this build thinks).
 * Returns how many of this build's migrations the file has yet to run.
 */
export async function checkOwnership<DB>(db: Kysely<DB>, file: string): Promise<number> {
  const header = await sql<{ application_id: number }>`PRAGMA application_id`.execute(db);
  const applicationId = header.rows[0]?.application_id ?? 0;
  const tables = await sql<{ name: string }>`
    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(db);
  const names = new Set(tables.rows.map((r) => r.name));
  const foreign = applicationId !== 0 && applicationId !== APPLICATION_ID;
  if (foreign || (names.size > 0 && !names.has(MIGRATION_TABLE))) {
    throw new StoreError(
      'not_a_store',
      `${file} is a SQLite database, but not a Slipway store (it belongs to another program).`,
      'Move it aside, or set SLIPWAY_HOME to a folder for Slipway to use.',
    );
  }
  if (!names.has(MIGRATION_TABLE)) return Object.keys(migrations).length;
  const rows = await sql<{ name: string }>`SELECT name FROM ${sql.table(MIGRATION_TABLE)}`.execute(db);
  const applied = new Set(rows.rows.map((r) => r.name));
  const unknown = [...applied].filter((name) => !(name in migrations));
  if (unknown.length > 0) {
    throw new StoreError(
      'newer_schema',
      `${file} was written by a newer version of Slipway (schema ${unknown.sort().at(-1)}; ` +
        `this version knows up to ${Object.keys(migrations).sort().at(-1)}).`,
      'Upgrade Slipway, or move the file aside (or set SLIPWAY_HOME) to start a fresh store.',
    );
  }
  return Object.keys(migrations).filter((name) => !applied.has(name)).length;
}
