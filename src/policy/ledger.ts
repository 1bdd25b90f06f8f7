/**
 * The decision ledger: every decision of a run is an entry hash-chained to the one before it, so that an
 * edit, a deletion or a reordering in the database shows; and the chain's length and head hash are kept
 * outside the database (the PR body, a git note in the user's repository), so that a cut tail or a
 * wholesale rehash shows too.
 */
import { createHash } from 'node:crypto';
import type { Decision, LedgerAnchor, LedgerEntry } from '../protocol/index.js';

/** The `prev` of a run's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted and no whitespace, so that one value always gives the same bytes. Keys
 * whose value is undefined are left out (as JSON.stringify does); non-finite numbers and values JSON
 * cannot carry are refused rather than silently changed.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
}

/** What an entry's hash covers: everything about it but the hash itself. */
export interface LedgerContent {
  seq: number;
  run: string;
  prev: string;
  at: string;
  decision: Decision;
}

export function hashEntry(content: LedgerContent): string {
  const { seq, run, prev, at, decision } = content;
  return createHash('sha256').update(canonicalJson({ seq, run, prev, at, decision }), 'utf8').digest('hex');
}

/** Builds the entry that follows `previous` (or the first entry when there is none). */
export function chainEntry(previous: Pick<LedgerEntry, 'seq' | 'hash'> | undefined, run: string, at: string, decision: Decision): LedgerEntry {
  const content: LedgerContent = { seq: (previous?.seq ?? 0) + 1, run, prev: previous?.hash ?? GENESIS_HASH, at, decision };
  return { ...content, hash: hashEntry(content) };
}

/** The length and head of a ledger as it stands. */
export function anchorOf(entries: readonly LedgerEntry[]): LedgerAnchor {
  return { length: entries.length, head: entries.at(-1)?.hash ?? GENESIS_HASH };
}

/** A break in the chain, at the first entry that shows it. */
export interface ChainBreak {
  /** The entry that is missing, altered or out of place. */
  seq: number;
  problem: string;
}

/**
 * Recomputes the chain of `entries` (as the store lists them, by seq) and returns the first break: an entry
 * whose content no longer gives its hash (edited), a gap in seq (deleted), an entry that does not point at
 * the one before it (deleted, inserted or reordered). Null when the chain holds together.
 */
export function findChainBreak(run: string, entries: readonly LedgerEntry[]): ChainBreak | null {
  let prev = GENESIS_HASH;
  for (const [index, entry] of entries.entries()) {
    const expected = index + 1;
    if (entry.run !== run) {
      return { seq: entry.seq, problem: `entry ${entry.seq} belongs to run ${entry.run}, not ${run}` };
    }
    if (entry.seq > expected) {
      const missing = entry.seq - 1 === expected ? `entry ${expected} is missing` : `entries ${expected} to ${entry.seq - 1} are missing`;
      return { seq: expected, problem: `${missing}: entry ${entry.seq} follows entry ${expected - 1} (deleted)` };
    }
    if (entry.seq !== expected) {
      return { seq: entry.seq, problem: `entry ${entry.seq} appears where entry ${expected} should be (entries reordered or duplicated)` };
    }
    if (entry.prev !== prev) {
      const before = expected === 1 ? 'the start of the ledger' : `entry ${expected - 1} (${short(prev)})`;
      return {
        seq: entry.seq,
        problem: `entry ${entry.seq} does not follow ${before}: it records prev ${short(entry.prev)} (entries deleted, inserted or reordered)`,
      };
    }
    const actual = hashEntry(entry);
    if (actual !== entry.hash) {
      return {
        seq: entry.seq,
        problem: `entry ${entry.seq} was altered: its content hashes to ${short(actual)}, but it records ${short(entry.hash)}`,
      };
    }
    prev = entry.hash;
  }
  return null;
}

/** A copy of the ledger's length and head kept somewhere else, and where. */
export interface ExternalAnchor extends LedgerAnchor {
  /** Where it was found, for messages: `the git note on 1a2b3c4d5e`, `the body of pull request pr-…`. */
  source: string;
}

/**
 * Compares a (self-consistent) chain with an anchor kept outside the database. Entries appended after
 * the anchor was written are not a break; fewer entries than the anchor records, or a different hash at
 * the anchored length, are.
 */
export function checkAnchor(entries: readonly LedgerEntry[], anchor: ExternalAnchor): ChainBreak | null {
  if (entries.length < anchor.length) {
    const first = entries.length + 1;
    const range = first === anchor.length ? `entry ${first} is missing` : `entries ${first} to ${anchor.length} are missing`;
    return {
      seq: first,
      problem: `${range}: the ledger has ${entries.length} entries, but ${anchor.source} records ${anchor.length} (the tail was cut)`,
    };
  }
  const head = anchor.length === 0 ? GENESIS_HASH : entries[anchor.length - 1]!.hash;
  if (head !== anchor.head) {
    return {
      seq: anchor.length,
      problem:
        `entry ${anchor.length} hashes to ${short(head)}, but ${anchor.source} records head ${short(anchor.head)}: ` +
        `the ledger was rewritten at or before entry ${anchor.length} (hashes recomputed after an edit)`,
    };
  }
  return null;
}

/** The line the PR body carries, and what `parseLedgerLine` reads back. */
export function formatLedgerLine(anchor: LedgerAnchor): string {
  return `Ledger: ${anchor.length} entries, head ${anchor.head}`;
}

export function parseLedgerLine(text: string): LedgerAnchor | null {
  const match = /^Ledger: (\d+) entries, head ([0-9a-f]{64})(?![0-9a-f])/m.exec(text);
  return match ? { length: Number(match[1]), head: match[2]! } : null;
}

/** Notes ref in the user's repository that holds the anchors of Slipway's runs. */
export const LEDGER_NOTES_REF = 'refs/notes/slipway';

/** One run's anchor as written in a git note: one JSON line per run (several runs may share a commit). */
export interface LedgerNote extends LedgerAnchor {
  run: string;
  pr?: string;
}

export function formatLedgerNote(note: LedgerNote): string {
  return canonicalJson({ slipwayLedger: 1, run: note.run, pr: note.pr, length: note.length, head: note.head });
}

/** The ledger anchors in a note's text; lines that are not Slipway's are ignored. */
export function parseLedgerNotes(text: string): LedgerNote[] {
  const notes: LedgerNote[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    if (v.slipwayLedger !== 1 || typeof v.run !== 'string' || typeof v.head !== 'string') continue;
    if (typeof v.length !== 'number' || !Number.isInteger(v.length) || v.length < 0) continue;
    notes.push({ run: v.run, length: v.length, head: v.head, ...(typeof v.pr === 'string' ? { pr: v.pr } : {}) });
  }
  return notes;
}

export function short(hash: string): string {
  return hash.slice(0, 12);
}
