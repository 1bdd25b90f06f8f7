import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Decision, LedgerEntry } from '../protocol/index.js';
import {
  anchorOf,
  canonicalJson,
  chainEntry,
  checkAnchor,
  findChainBreak,
  formatLedgerLine,
  formatLedgerNote,
  GENESIS_HASH,
  hashEntry,
  parseLedgerLine,
  parseLedgerNotes,
} from './ledger.js';

const RUN = 'r-ledger01';

function decisions(n: number): Decision[] {
  return Array.from({ length: n }, (_, i) => ({ action: `action ${i + 1}`, by: 'agent', autonomous: i % 2 === 0, reason: `because ${i + 1}` }));
}

function chain(ds: Decision[], run = RUN): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (const [i, d] of ds.entries()) out.push(chainEntry(out.at(-1), run, `2025-01-01T00:00:0${i % 10}.000Z`, d));
  return out;
}

/** What an attacker who rewrites every hash after an edit would store. */
function rehash(entries: LedgerEntry[]): LedgerEntry[] {
  return chain(entries.map((e) => e.decision));
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and leaves out whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same text for the same value whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: [true, null] })).toBe(canonicalJson({ y: [true, null], x: 1 }));
  });

  it('escapes strings as JSON does and drops undefined keys', () => {
    expect(canonicalJson({ s: 'a "q"\n\u00e9✓', u: undefined })).toBe('{"s":"a \\"q\\"\\né✓"}');
    expect(canonicalJson([undefined])).toBe('[null]');
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(/no JSON form/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/no JSON form/);
    expect(() => canonicalJson(10n)).toThrow(/no JSON form/);
  });
});

describe('the chain', () => {
  it('hashes the canonical JSON of {seq, run, prev, at, decision} with sha256', () => {
    const decision: Decision = { action: 'ship', by: 'agent', autonomous: true, reason: 'green', evidence: 'npm test: 3 passed' };
    const entry = chainEntry(undefined, RUN, '2025-01-01T00:00:00.000Z', decision);
    expect(entry).toMatchObject({ seq: 1, run: RUN, prev: GENESIS_HASH });
    const text = `{"at":"2025-01-01T00:00:00.000Z","decision":{"action":"ship","autonomous":true,"by":"agent","evidence":"npm test: 3 passed","reason":"green"},"prev":"${GENESIS_HASH}","run":"${RUN}","seq":1}`;
    expect(entry.hash).toBe(createHash('sha256').update(text).digest('hex'));
    expect(hashEntry(entry)).toBe(entry.hash);
  });

  it('links each entry to the one before', () => {
    const entries = chain(decisions(4));
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prev).toBe(entries[i - 1]!.hash);
    expect(findChainBreak(RUN, entries)).toBeNull();
    expect(findChainBreak(RUN, [])).toBeNull();
    expect(anchorOf(entries)).toEqual({ length: 4, head: entries[3]!.hash });
    expect(anchorOf([])).toEqual({ length: 0, head: GENESIS_HASH });
  });

  it('names an edited entry', () => {
    const entries = chain(decisions(5));
    entries[2] = { ...entries[2]!, decision: { ...entries[2]!.decision, reason: 'a nicer reason' } };
    expect(findChainBreak(RUN, entries)).toMatchObject({ seq: 3, problem: expect.stringMatching(/entry 3 was altered/) });
  });

  it('names an entry whose time or author was changed', () => {
    const entries = chain(decisions(3));
    entries[1] = { ...entries[1]!, decision: { ...entries[1]!.decision, by: 'person', autonomous: false } };
    expect(findChainBreak(RUN, entries)?.seq).toBe(2);
    const timed = chain(decisions(3));
    timed[0] = { ...timed[0]!, at: '2024-01-01T00:00:00.000Z' };
    expect(findChainBreak(RUN, timed)?.seq).toBe(1);
  });

  it('names a deleted entry, whether or not the rest was renumbered', () => {
    const entries = chain(decisions(5));
    const gap = [...entries.slice(0, 2), ...entries.slice(3)];
    expect(findChainBreak(RUN, gap)).toMatchObject({ seq: 3, problem: expect.stringMatching(/entry 3 is missing.*deleted/) });
    const renumbered = gap.map((e, i) => ({ ...e, seq: i + 1 }));
    expect(findChainBreak(RUN, renumbered)).toMatchObject({ seq: 3, problem: expect.stringMatching(/entry 3 does not follow entry 2/) });
  });

  it('names reordered entries', () => {
    const entries = chain(decisions(4));
    // Rows swapped wholesale, then listed in seq order as the store does.
    const swapped = [entries[0]!, { ...entries[2]!, seq: 2 }, { ...entries[1]!, seq: 3 }, entries[3]!];
    expect(findChainBreak(RUN, swapped)).toMatchObject({ seq: 2, problem: expect.stringMatching(/entry 2 does not follow entry 1/) });
    // Only the decisions swapped, links and hashes left in place.
    const contents = entries.map((e) => ({ ...e }));
    [contents[1]!.decision, contents[2]!.decision] = [contents[2]!.decision, contents[1]!.decision];
    expect(findChainBreak(RUN, contents)?.seq).toBe(2);
  });

  it('names an entry of another run', () => {
    const entries = chain(decisions(2));
    entries[1] = chain(decisions(2), 'r-other000')[1]!;
    expect(findChainBreak(RUN, entries)).toMatchObject({ seq: 2, problem: expect.stringMatching(/belongs to run r-other000/) });
  });

  it('cannot see a cut tail or a wholesale rehash on its own: that is what the anchors are for', () => {
    const entries = chain(decisions(5));
    expect(findChainBreak(RUN, entries.slice(0, 3))).toBeNull();
    const edited = entries.map((e) => ({ ...e }));
    edited[1]!.decision = { ...edited[1]!.decision, reason: 'rewritten' };
    expect(findChainBreak(RUN, rehash(edited))).toBeNull();
  });
});

describe('anchors', () => {
  const entries = chain(decisions(5));
  const anchor = { ...anchorOf(entries), source: 'the git note' };

  it('match the chain they were taken from, and tolerate entries added later', () => {
    expect(checkAnchor(entries, anchor)).toBeNull();
    const longer = chain(decisions(7));
    expect(checkAnchor(longer.slice(0, 7), { ...anchorOf(longer.slice(0, 5)), source: 'x' })).toBeNull();
    expect(checkAnchor([], { length: 0, head: GENESIS_HASH, source: 'x' })).toBeNull();
  });

  it('catch a cut tail, naming the first missing entry', () => {
    expect(checkAnchor(entries.slice(0, 3), anchor)).toMatchObject({
      seq: 4,
      problem: expect.stringMatching(/entries 4 to 5 are missing: the ledger has 3 entries, but the git note records 5/),
    });
    expect(checkAnchor(entries.slice(0, 4), anchor)?.problem).toMatch(/entry 5 is missing/);
  });

  it('catch a wholesale rehash after an edit', () => {
    const edited = entries.map((e) => ({ ...e }));
    edited[1]!.decision = { ...edited[1]!.decision, reason: 'rewritten' };
    expect(checkAnchor(rehash(edited), anchor)).toMatchObject({
      seq: 5,
      problem: expect.stringMatching(/entry 5 hashes to \w+, but the git note records head \w+: the ledger was rewritten/),
    });
  });

  it('round-trip through the PR body line', () => {
    const body = `## Decisions\n- x\n\n${formatLedgerLine(anchor)} (check it with: slipway ledger <this PR> --verify)\n---`;
    expect(parseLedgerLine(body)).toEqual(anchorOf(entries));
    expect(parseLedgerLine('no ledger here')).toBeNull();
    expect(parseLedgerLine(`Ledger: 5 entries, head ${'a'.repeat(63)}`)).toBeNull();
  });

  it('round-trip through git notes, several runs per note, foreign lines ignored', () => {
    const a = formatLedgerNote({ run: 'r-a', pr: 'pr-a', length: 5, head: anchor.head });
    const b = formatLedgerNote({ run: 'r-b', length: 0, head: GENESIS_HASH });
    expect(JSON.parse(a)).toEqual({ slipwayLedger: 1, run: 'r-a', pr: 'pr-a', length: 5, head: anchor.head });
    expect(parseLedgerNotes(`${a}\n\nreviewed by Ann\n{"other":"tool"}\n{broken\n${b}\n`)).toEqual([
      { run: 'r-a', pr: 'pr-a', length: 5, head: anchor.head },
      { run: 'r-b', length: 0, head: GENESIS_HASH },
    ]);
  });
});
