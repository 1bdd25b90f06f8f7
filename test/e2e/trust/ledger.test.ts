/**
 * The decision ledger end to end: a real run opens a PR, its decisions are hash-chained in SQLite and
 * anchored in the PR body and a git note in the user's repository, and `slipway ledger --verify` catches
 * every way an attacker with the database file could rewrite them.
 */
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { hashEntry, parseLedgerLine } from '../../../src/policy/ledger.js';
import type { Decision, LedgerEntry } from '../../../src/protocol/index.js';
import { cliEnv, runCli, type CliResult } from '../../support/cli.js';
import { exampleRepo, git, removeDir, tempDir } from '../../support/repos.js';
import { demoTurns, harness, lastLine, type Harness } from '../core/scenario.js';

let h: Harness;
let repo: string;
let prId: string;
let runId: string;
const homes: string[] = [];

beforeAll(async () => {
  h = await harness();
  repo = exampleRepo('demo-cart');
  h.server.turns(demoTurns());
  const result = await h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', repo, '--json']);
  const last = lastLine(result);
  expect(last, result.stdout.slice(-2000) + result.stderr).toMatchObject({ status: 'pr_open' });
  prId = String(last.pr);
  runId = String(last.run);
}, 120_000);

afterAll(async () => {
  await h.server.close();
  removeDir(h.home);
  removeDir(repo);
  for (const home of homes) removeDir(home);
});

const ledger = (args: string[], home = h.home): Promise<CliResult> => runCli(['ledger', ...args], cliEnv(home));

/** A copy of the store in a home of its own, tampered with as someone holding the file would: triggers dropped first. */
function tampered(attack: (db: Database.Database) => void): string {
  const home = tempDir('slipway-tampered-');
  homes.push(home);
  for (const suffix of ['', '-wal', '-shm']) {
    const from = path.join(h.home, `slipway.db${suffix}`);
    if (existsSync(from)) copyFileSync(from, path.join(home, `slipway.db${suffix}`));
  }
  const db = new Database(path.join(home, 'slipway.db'));
  db.exec('DROP TRIGGER IF EXISTS decisions_no_update; DROP TRIGGER IF EXISTS decisions_no_delete;');
  attack(db);
  db.close();
  return home;
}

function rows(db: Database.Database): Array<{ id: number; seq: number; json: string; at: string; prev_hash: string; hash: string }> {
  return db.prepare('SELECT id, seq, json, at, prev_hash, hash FROM decisions WHERE run = ? ORDER BY seq').all(runId) as Array<{
    id: number;
    seq: number;
    json: string;
    at: string;
    prev_hash: string;
    hash: string;
  }>;
}

describe('the decision ledger of a run that opened a pull request', () => {
  it('lists the entries, chained, and keeps its head in the PR body, the PR record and a git note', async () => {
    const listed = await ledger([prId, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout) as LedgerEntry[];
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(entries[0]!.prev).toBe('0'.repeat(64));
    for (const [i, e] of entries.entries()) {
      expect(e.run).toBe(runId);
      expect(e.hash).toBe(hashEntry(e));
      if (i > 0) expect(e.prev).toBe(entries[i - 1]!.hash);
    }
    expect(entries.at(-1)!.decision).toMatchObject({ by: 'agent', autonomous: true, action: expect.stringMatching(/^open a pull request/) });
    const head = entries.at(-1)!.hash;

    // The run id names the same ledger.
    expect((await ledger([runId, '--json'])).stdout).toBe(listed.stdout);

    const human = await ledger([prId]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${entries.length} entries, head ${head}`);
    expect(human.stdout).toMatch(/ 1 {2}policy {2}autonomous {2}run commands in the bubblewrap sandbox: default policy/);

    const show = await runCli(['pr', 'show', prId, '--json'], cliEnv(h.home));
    const pr = JSON.parse(show.stdout) as { decisions: Decision[]; ledger: { length: number; head: string }; body: string; head: string };
    expect(pr.decisions).toEqual(entries.map((e) => e.decision));
    expect(pr.ledger).toEqual({ length: entries.length, head });
    expect(parseLedgerLine(pr.body)).toEqual({ length: entries.length, head });
    expect(pr.body).toContain(`Ledger: ${entries.length} entries, head ${head} (check it with: slipway ledger ${prId} --verify)`);

    // The note is in the user's repository, on the branch's head.
    const note = JSON.parse(git(repo, 'notes', '--ref=slipway', 'show', pr.head)) as Record<string, unknown>;
    expect(note).toEqual({ slipwayLedger: 1, run: runId, pr: prId, length: entries.length, head });
  });

  it('verifies the untouched ledger against every anchor', async () => {
    const result = await ledger([prId, '--verify']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^intact \(\d+ entries, head [0-9a-f]{64}\)/);
    expect(result.stdout).toMatch(/matches the git note on [0-9a-f]{10} in /);
    expect(result.stdout).toContain(`matches the body of pull request ${prId}`);
    const json = JSON.parse((await ledger([runId, '--verify', '--json'])).stdout) as { intact: boolean; anchors: Array<{ matches: boolean }> };
    expect(json.intact).toBe(true);
    expect(json.anchors).toHaveLength(3);
    expect(json.anchors.every((a) => a.matches)).toBe(true);
  });

  it('says so for an unknown id', async () => {
    const result = await ledger(['pr-nothere0', '--verify']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/No run or pull request "pr-nothere0"/);
    expect((await ledger(['r-nothere0'])).code).toBe(1);
  });

  it('catches an edited entry', async () => {
    const home = tampered((db) => {
      db.prepare("UPDATE decisions SET json = json_set(json, '$.reason', 'a person said so') WHERE run = ? AND seq = 2").run(runId);
    });
    const result = await ledger([prId, '--verify'], home);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/BROKEN at entry 2: entry 2 was altered/);
  });

  it('catches a deleted entry', async () => {
    const home = tampered((db) => {
      db.prepare('DELETE FROM decisions WHERE run = ? AND seq = 2').run(runId);
    });
    const result = await ledger([prId, '--verify'], home);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/BROKEN at entry 2: entry 2 is missing/);
  });

  it('catches reordered entries', async () => {
    const home = tampered((db) => {
      const update = db.prepare('UPDATE decisions SET seq = ? WHERE run = ? AND seq = ?');
      update.run(-1, runId, 2);
      update.run(2, runId, 3);
      update.run(3, runId, -1);
    });
    const result = await ledger([prId, '--verify'], home);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/BROKEN at entry 2: entry 2 does not follow entry 1/);
  });

  it('catches a cut tail, though what is left is a consistent chain', async () => {
    let length = 0;
    const home = tampered((db) => {
      length = rows(db).length;
      db.prepare('DELETE FROM decisions WHERE run = ? AND seq = ?').run(runId, length);
    });
    const result = await ledger([prId, '--verify'], home);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`BROKEN at entry ${length}: entry ${length} is missing: the ledger has ${length - 1} entries, but the git note`);
    expect(result.stdout).toMatch(/the tail was cut/);
  });

  it('catches a wholesale rehash, even with the PR body and record rewritten to match', async () => {
    let length = 0;
    const home = tampered((db) => {
      const all = rows(db);
      length = all.length;
      let prev = '0'.repeat(64);
      const update = db.prepare('UPDATE decisions SET json = ?, prev_hash = ?, hash = ? WHERE id = ?');
      for (const row of all) {
        const decision = JSON.parse(row.json) as Decision;
        if (row.seq === 2) decision.reason = 'a person said so';
        const hash = hashEntry({ seq: row.seq, run: runId, prev, at: row.at, decision });
        update.run(JSON.stringify(decision), prev, hash, row.id);
        prev = hash;
      }
      const { json } = db.prepare('SELECT json FROM pull_requests WHERE id = ?').get(prId) as { json: string };
      const pr = JSON.parse(json) as { body: string; ledger: { length: number; head: string } };
      pr.body = pr.body.replace(/head [0-9a-f]{64}/, `head ${prev}`);
      pr.ledger = { length, head: prev };
      db.prepare('UPDATE pull_requests SET json = ? WHERE id = ?').run(JSON.stringify(pr), prId);
    });
    const result = await ledger([prId, '--verify'], home);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      new RegExp(`BROKEN at entry ${length}: entry ${length} hashes to \\w+, but the git note on [0-9a-f]{10} in .* records head \\w+: the ledger was rewritten`),
    );
    // Nothing inside the database disagrees: only the note outside it does.
    const json = JSON.parse((await ledger([prId, '--verify', '--json'], home)).stdout) as { problems: unknown[]; anchors: Array<{ source: string; matches: boolean }> };
    expect(json.problems).toHaveLength(1);
    expect(json.anchors.filter((a) => !a.matches).map((a) => a.source)).toEqual([expect.stringMatching(/^the git note/)]);
  });
});

describe('the decision ledger of an escalated run', () => {
  it('ends with the escalation, by the agent and not autonomous, anchored in a git note on the kept branch', async () => {
    const e = await harness();
    const escalatedRepo = exampleRepo('demo-cart');
    try {
      const [readCart, plan, , fixCart, addTest, , finish, verdictPass] = demoTurns() as ScriptTurn[];
      e.server.turns([
        readCart!,
        plan!,
        fixCart!,
        addTest!,
        { toolCalls: [{ name: 'edit_file', input: { path: 'src/cart.js', old_text: 'count + item.quantity', new_text: 'count + 1' } }] },
        finish!,
        verdictPass!,
      ]);
      const result = await e.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', escalatedRepo, '--json', '--verify-rounds', '1']);
      const last = lastLine(result);
      expect(last).toMatchObject({ status: 'escalated', pr: null });
      const run = String(last.run);

      const listed = await ledger([run, '--json'], e.home);
      const entries = JSON.parse(listed.stdout) as LedgerEntry[];
      expect(entries.at(-1)!.decision).toMatchObject({ action: 'escalate to a person', by: 'agent', autonomous: false });
      expect(entries.at(-1)!.decision.reason).toMatch(/did not pass verification/);

      const verified = await ledger([run, '--verify'], e.home);
      expect(verified.code, verified.stdout).toBe(0);
      expect(verified.stdout).toContain(`intact (${entries.length} entries, head ${entries.at(-1)!.hash})`);
      expect(verified.stdout).toMatch(/matches the git note on [0-9a-f]{10}/);
      const branchHead = git(escalatedRepo, 'rev-parse', String(last.branch));
      expect(JSON.parse(git(escalatedRepo, 'notes', '--ref=slipway', 'show', branchHead))).toMatchObject({ run, length: entries.length });
    } finally {
      await e.server.close();
      removeDir(e.home);
      removeDir(escalatedRepo);
    }
  });
});
