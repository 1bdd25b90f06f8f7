/** Opening a SQLite store file: folder, pragmas, ownership checks and migrations, with clear failures. */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type MigrationProvider, type SqliteDatabase } from 'kysely';
import type { Decision } from '../../protocol/index.js';
import { hashEntry } from '../../policy/ledger.js';
import { StoreError } from '../store-error.js';
import { checkOwnership, MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrations } from './migrations.js';
import type { Tables } from './tables.js';

/** How long a write waits for another process's write to finish before failing. */
export const BUSY_TIMEOUT_MS = 5_000;

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

// Opens of one file within this process take turns. A migration holds SQLite's write lock across awaits;
// a second connection in this single-threaded process asking for it meanwhile would block the thread
// (busy_timeout) while the holder cannot run, and then fail.
const opening = new Map<string, Promise<unknown>>();

/** An open store file, and how to let go of it. */
export interface OpenedDatabase {
  db: Kysely<Tables>;
  /** Closes the connection, or does nothing while this process keeps it open (keepDatabaseOpen). */
  release(): Promise<void>;
}

/** The one file kept open between commands by a process that serves many (keepDatabaseOpen); null: none yet. */
let keeping: { held: { path: string; dev: number; ino: number; db: Kysely<Tables> } | null } | null = null;

/**
 * For a process that serves many commands, one at a time (the daemon): the store file stays open from one to the
 * next, so that none pays for opening it (about 10 ms there) and closing it. Each open of the same file checks
 * that it is still the same file (a store removed or replaced meanwhile is opened afresh) and checks its schema
 * again, as a fresh open does. One file is held: opening another closes it. Returns what closes it for good.
 */
export function keepDatabaseOpen(): () => Promise<void> {
  keeping = { held: null };
  return async () => {
    const held = keeping?.held;
    keeping = null;
    await held?.db.destroy();
  };
}

/** Opens (creating when absent) the store file and brings its schema up to date. */
export async function openDatabase(file: string): Promise<OpenedDatabase> {
  const path = file === ':memory:' ? file : resolve(file);
  if (keeping && path !== ':memory:') return { db: await heldOpen(keeping, path), release: () => Promise.resolve() };
  const db = await openSerialized(path);
  return { db, release: () => db.destroy() };
}

async function heldOpen(keep: NonNullable<typeof keeping>, path: string): Promise<Kysely<Tables>> {
  const held = keep.held;
  const now = statSync(path, { throwIfNoEntry: false });
  if (held && held.path === path && now && now.dev === held.dev && now.ino === held.ino) {
    // Another Slipway may have migrated (or replaced the tables of) the file since: checked as on a fresh open.
    await migrate(held.db, path);
    return held.db;
  }
  keep.held = null;
  await held?.db.destroy().catch(() => undefined);
  const db = await openSerialized(path);
  const opened = statSync(path, { throwIfNoEntry: false });
  if (opened) keep.held = { path, dev: opened.dev, ino: opened.ino, db };
  return db;
}

/** Opens of one file within this process take turns (see `opening`). */
async function openSerialized(path: string): Promise<Kysely<Tables>> {
  const previous = opening.get(path) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(() => open(path));
  opening.set(path, current);
  try {
    return await current;
  } finally {
    if (opening.get(path) === current) opening.delete(path);
  }
}

async function open(path: string): Promise<Kysely<Tables>> {
  if (path !== ':memory:') {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (error) {
      throw new StoreError(
        'unavailable',
        `Could not create the folder for the Slipway store ${path}: ${messageOf(error)}.`,
        'Check the folder permissions, or set SLIPWAY_HOME to a writable folder.',
        { cause: error },
      );
    }
  }
  let sqlite: Database.Database | undefined;
  try {
    sqlite = new Database(path);
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // The first statement that reads the file: a file that is not a database fails here.
    sqlite.pragma('journal_mode = WAL');
    // In WAL mode NORMAL loses nothing when the process is killed; only a power cut can drop the
    // last commits, and FULL would cost an fsync per event.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.function(LEDGER_HASH_FUNCTION, { deterministic: true }, ledgerHash);
  } catch (error) {
    sqlite?.close();
    throw openError(path, error);
  }
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
  try {
    await migrate(db, path);
  } catch (error) {
    await db.destroy();
    throw error instanceof StoreError ? error : openError(path, error);
  }
  return db;
}

/**
 * Checks the file is ours, then runs any pending migrations inside one IMMEDIATE transaction, so two
 * processes opening a fresh file at once take turns and a crash mid-migration leaves the file as it was.
 * (kysely's SQLite adapter neither locks nor wraps migrations in a transaction by itself.) An up-to-date
 * file, the usual case, is opened without taking the write lock at all.
 */
async function migrate(db: Kysely<Tables>, path: string): Promise<void> {
  await db.connection().execute(async (raw) => {
    if ((await checkOwnership(raw, path)) === 0) return;
    await sql`BEGIN IMMEDIATE`.execute(raw);
    try {
      // Again under the lock: another process may have migrated (or a newer Slipway written) meanwhile.
      if ((await checkOwnership(raw, path)) === 0) {
        await sql`COMMIT`.execute(raw);
        return;
      }
      const migrator = new Migrator({
        db: raw,
        provider,
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
        disableTransactions: true, // already inside ours
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error !== undefined) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw new StoreError(
          'unavailable',
          `Could not bring the Slipway store ${path} up to date` +
            `${failed ? ` (migration ${failed} failed)` : ''}: ${messageOf(error)}.`,
          'The file was left unchanged. Report the error; to go on meanwhile, move the file aside ' +
            'or set SLIPWAY_HOME to start a fresh store.',
          { cause: error },
        );
      }
      await sql`COMMIT`.execute(raw);
    } catch (error) {
      await sql`ROLLBACK`.execute(raw).catch(() => undefined);
      throw error;
    }
  });
}

function openError(path: string, error: unknown): StoreError {
  const code = sqliteCode(error);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreError(
      'not_a_store',
      `${path} is not a SQLite database (or is damaged): ${messageOf(error)}.`,
      'Move it aside, or set SLIPWAY_HOME to a folder for Slipway to use.',
      { cause: error },
    );
  }
  if (code === 'SQLITE_BUSY') {
    return new StoreError(
      'unavailable',
      `The Slipway store ${path} stayed locked by another process for more than ${BUSY_TIMEOUT_MS / 1000} s.`,
      'Wait for the other Slipway process to finish, then try again.',
      { cause: error },
    );
  }
  return new StoreError(
    'unavailable',
    `Could not open the Slipway store ${path}: ${messageOf(error)}.`,
    'Check that the path is a writable file, or set SLIPWAY_HOME to another folder.',
    { cause: error },
  );
}

/** How many prepared statements a connection keeps: the store's queries are a few dozen texts, used over and over. */
const STATEMENT_CACHE_SIZE = 200;

/**
 * The connection as kysely sees it, with each SQL text prepared once and then reused: kysely prepares every
 * query anew, and preparing is most of the cost of the small queries a run makes (one per event). Statements
 * are bound to their parameters on each run, so reuse is safe; kysely never iterates one statement twice at
 * once here (the store does not stream). Past the size, the oldest text is dropped.
 */
function cachingStatements(sqlite: Database.Database): SqliteDatabase {
  const prepared = new Map<string, Database.Statement>();
  return {
    close: () => {
      prepared.clear();
      sqlite.close();
    },
    prepare: (text) => {
      let statement = prepared.get(text);
      if (!statement) {
        statement = sqlite.prepare(text);
        if (prepared.size >= STATEMENT_CACHE_SIZE) prepared.delete(prepared.keys().next().value!);
        prepared.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * `slipway_ledger_hash(seq, run, prev, at, json)`: the ledger hash of a decision row (policy/ledger.ts), as
 * an SQL function so that one INSERT can read the last hash and chain onto it under the write lock. A
 * read-then-write across awaits would hold the lock while another connection of this same thread blocks
 * on it (see `opening` above).
 */
export const LEDGER_HASH_FUNCTION = 'slipway_ledger_hash';

// Five named parameters: better-sqlite3 takes the SQL function's arity from the JS function's length.
function ledgerHash(seq: unknown, run: unknown, prev: unknown, at: unknown, json: unknown): string {
  if (typeof seq !== 'number' || typeof run !== 'string' || typeof prev !== 'string' || typeof at !== 'string' || typeof json !== 'string') {
    throw new TypeError(`${LEDGER_HASH_FUNCTION}: expected (integer, text, text, text, text)`);
  }
  return hashEntry({ seq, run, prev, at, decision: JSON.parse(json) as Decision });
}

/** better-sqlite3's error code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_FOREIGNKEY` ...), if it is one of its errors. */
export function sqliteCode(error: unknown): string | undefined {
  return error instanceof Database.SqliteError ? error.code : undefined;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
