/**
 * Approval gates end to end: a real run opens a PR, `slipway pr merge` asks (exit 4, a durable gate), and a
 * person answers from the host in a separate process. Approving merges host-side after re-running the tests on
 * the merge result; a dirty tree, a conflicting base or failing tests leave the base branch alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Gate, LedgerEntry, PullRequest } from '../../../src/protocol/index.js';
import { cliEnv, runCli, type CliResult } from '../../support/cli.js';
import { git } from '../../support/repos.js';
import { demoTurns, lastLine, useScenario } from '../core/scenario.js';

const s = useScenario();

const FIX = 'subtotal * (1 - discountPercent / 100)';
const cli = (args: string[]): Promise<CliResult> => runCli(args, cliEnv(s.h.home));
const commit = (repo: string, message: string) => git(repo, '-c', 'user.name=Person', '-c', 'user.email=person@localhost', 'commit', '-qam', message);

/** A repository with an open PR made by the scripted demo run. */
async function openPr(): Promise<{ repo: string; pr: string; run: string }> {
  const repo = s.newRepo('demo-cart');
  s.h.server.turns(demoTurns());
  const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', repo, '--json']);
  const last = lastLine(result);
  expect(last, result.stdout.slice(-2000) + result.stderr).toMatchObject({ status: 'pr_open' });
  return { repo, pr: String(last.pr), run: String(last.run) };
}

async function askMerge(pr: string): Promise<string> {
  const merge = await cli(['pr', 'merge', pr, '--json']);
  expect(merge.code, merge.stderr).toBe(4);
  const last = lastLine(merge);
  expect(last).toMatchObject({ status: 'awaiting_approval' });
  expect(String(last.gate)).toMatch(/^g-/);
  return String(last.gate);
}

async function gates(): Promise<Gate[]> {
  const listed = await cli(['gates', '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as Gate[];
}

async function showPr(pr: string): Promise<PullRequest> {
  const shown = await cli(['pr', 'show', pr, '--json']);
  expect(shown.code, shown.stderr).toBe(0);
  return JSON.parse(shown.stdout) as PullRequest;
}

async function ledger(pr: string): Promise<LedgerEntry[]> {
  const listed = await cli(['ledger', pr, '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as LedgerEntry[];
}

describe('merging a pull request through an approval gate', () => {
  it('asks, survives a restart, and on approval merges into the checked-out base after re-running the tests', async () => {
    const { repo, pr } = await openPr();
    const mainBefore = git(repo, 'rev-parse', 'main');
    const gate = await askMerge(pr);

    // Each command is its own process: the gate is a row in the store, not a promise in memory.
    const pending = (await gates()).find((g) => g.id === gate);
    expect(pending).toMatchObject({ status: 'pending', action: 'merge', pr, run: expect.any(String) as string });
    expect(pending?.subject).toMatch(/^slipway\/fix-the-discount-in-carttotal-r-.* into main$/);
    expect(pending?.evidence).toMatchObject({ testsBefore: { passed: 2 }, testsAfter: { passed: 3 }, verdict: 'pass' });
    expect(pending?.risk.level).toBe('low');
    expect(git(repo, 'rev-parse', 'main')).toBe(mainBefore);
    const human = await cli(['gates']);
    expect(human.stdout).toContain(`slipway approve ${gate}`);
    // Asking again does not make a second gate.
    expect(lastLine(await cli(['pr', 'merge', pr, '--json']))).toEqual({ gate, status: 'awaiting_approval' });

    const approved = await cli(['approve', gate, '--note', 'looks right', '--json']);
    expect(approved.code, approved.stdout + approved.stderr).toBe(0);
    expect(lastLine(approved)).toMatchObject({ gate, pr, status: 'merged' });

    // The base branch now holds the fix, and the checked-out tree followed it (fast-forward).
    expect(git(repo, 'show', 'main:src/cart.js')).toContain(FIX);
    expect(readFileSync(path.join(repo, 'src', 'cart.js'), 'utf8')).toContain(FIX);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(git(repo, 'merge-base', '--is-ancestor', mainBefore, 'main')).toBe('');

    const record = await showPr(pr);
    expect(record.status).toBe('merged');
    expect(record.history?.map((e) => e.event)).toEqual(['merge_requested', 'approved', 'merged']);
    expect((await gates()).find((g) => g.id === gate)).toMatchObject({ status: 'done', answer: { by: 'person', note: 'looks right' } });

    const decisions = (await ledger(pr)).map((e) => e.decision);
    const tail = decisions.slice(-3);
    expect(tail[0]).toMatchObject({ by: 'policy', autonomous: false, evidence: gate });
    expect(tail[0]?.reason).toContain('asked a person');
    expect(tail[1]).toMatchObject({ by: 'person', autonomous: false, reason: 'looks right', evidence: gate });
    expect(tail[2]).toMatchObject({ by: 'agent', autonomous: false });
    expect(tail[2]?.reason).toContain('host-side by Slipway');
    expect(tail[2]?.reason).toContain('3 passed, 0 failed');
    const verify = await cli(['ledger', pr, '--verify']);
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stdout).toContain('entries recorded after it');

    // A gate is answered once.
    const again = await cli(['approve', gate]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is done, not pending');
  }, 180_000);

  it('fails the gate and leaves the base alone when the base is checked out with uncommitted changes', async () => {
    const { repo, pr } = await openPr();
    const gate = await askMerge(pr);
    writeFileSync(path.join(repo, 'README.md'), 'my local edit\n');
    const mainBefore = git(repo, 'rev-parse', 'main');

    const approved = await cli(['approve', gate, '--json']);
    expect(approved.code).toBe(1);
    expect(String(lastLine(approved).error)).toContain('uncommitted changes');
    expect(git(repo, 'rev-parse', 'main')).toBe(mainBefore);
    expect(readFileSync(path.join(repo, 'README.md'), 'utf8')).toBe('my local edit\n');
    const failed = (await gates()).find((g) => g.id === gate);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed?.status === 'failed' && failed.outcome).toContain('uncommitted changes');
    const record = await showPr(pr);
    expect(record.status).toBe('open');
    expect(record.history?.at(-1)).toMatchObject({ event: 'merge_failed', gate });
  }, 180_000);

  it('fails the gate when the base moved with a conflicting change, and leaves the base alone', async () => {
    const { repo, pr } = await openPr();
    const gate = await askMerge(pr);
    const cart = path.join(repo, 'src', 'cart.js');
    writeFileSync(cart, readFileSync(cart, 'utf8').replace('return subtotal - discountPercent;', 'return Math.max(0, subtotal - discountPercent);'));
    commit(repo, 'clamp at zero');
    const mainBefore = git(repo, 'rev-parse', 'main');

    const approved = await cli(['approve', gate]);
    expect(approved.code).toBe(1);
    expect(approved.stdout).toContain('conflicts in src/cart.js');
    expect(git(repo, 'rev-parse', 'main')).toBe(mainBefore);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect((await gates()).find((g) => g.id === gate)?.status).toBe('failed');
    expect((await showPr(pr)).status).toBe('open');
  }, 180_000);

  it('fails the gate when the tests fail on the merge result', async () => {
    const { repo, pr } = await openPr();
    const gate = await askMerge(pr);
    writeFileSync(path.join(repo, 'test', 'extra.test.js'), "import test from 'node:test';\nimport assert from 'node:assert/strict';\ntest('broken on main', () => assert.equal(1, 2));\n");
    git(repo, 'add', 'test/extra.test.js');
    commit(repo, 'a failing test');
    git(repo, 'checkout', '-q', '--detach');
    const mainBefore = git(repo, 'rev-parse', 'main');

    const approved = await cli(['approve', gate]);
    expect(approved.code).toBe(1);
    expect(approved.stdout).toContain('the tests fail on the merge result');
    expect(git(repo, 'rev-parse', 'main')).toBe(mainBefore);
    expect((await gates()).find((g) => g.id === gate)?.status).toBe('failed');
  }, 180_000);

  it('merges with a merge commit by the configured author when the base moved without conflict and is not checked out', async () => {
    s.h.userConfig({ author: { name: 'Merge Bot', email: 'merge@localhost' } });
    const { repo, pr } = await openPr();
    const gate = await askMerge(pr);
    writeFileSync(path.join(repo, 'NOTES.md'), 'unrelated\n');
    git(repo, 'add', 'NOTES.md');
    commit(repo, 'notes');
    git(repo, 'checkout', '-q', '--detach');
    const mainBefore = git(repo, 'rev-parse', 'main');

    const approved = await cli(['approve', gate]);
    expect(approved.code, approved.stdout + approved.stderr).toBe(0);
    expect(git(repo, 'rev-parse', 'main^1')).toBe(mainBefore);
    expect(git(repo, 'log', '-1', '--format=%an <%ae>', 'main')).toBe('Merge Bot <merge@localhost>');
    expect(git(repo, 'show', 'main:src/cart.js')).toContain(FIX);
    expect(git(repo, 'show', 'main:NOTES.md')).toBe('unrelated');
  }, 180_000);

  it('reject --no-revise keeps the pull request open as it is with the reason, and merges nothing', async () => {
    const { repo, pr } = await openPr();
    const gate = await askMerge(pr);
    const mainBefore = git(repo, 'rev-parse', 'main');
    const noReason = await cli(['reject', gate]);
    expect(noReason.code).toBe(2);

    const rejected = await cli(['reject', gate, '--reason', 'rounding must be to cents', '--no-revise', '--json']);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(lastLine(rejected)).toEqual({ gate, status: 'rejected', pr });
    expect(git(repo, 'rev-parse', 'main')).toBe(mainBefore);
    const record = await showPr(pr);
    expect(record.status).toBe('open');
    expect(record.history?.at(-1)).toMatchObject({ event: 'rejected', by: 'person', note: 'rounding must be to cents', gate });
    expect((await gates()).find((g) => g.id === gate)).toMatchObject({ status: 'rejected', answer: { reason: 'rounding must be to cents' } });
    expect((await ledger(pr)).at(-1)?.decision).toMatchObject({ by: 'person', autonomous: false, reason: 'rounding must be to cents' });
    const approveAfter = await cli(['approve', gate]);
    expect(approveAfter.code).toBe(1);
    expect(approveAfter.stderr).toContain('is rejected, not pending');
  }, 180_000);

  it('follows the merge rule: deny refuses naming the rule, allow merges without a gate', async () => {
    const { repo, pr } = await openPr();
    s.h.userConfig({ policy: [{ kind: 'merge', pattern: 'main', action: 'deny' }] });
    const denied = await cli(['pr', 'merge', pr]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('merge `main` deny, from user');
    expect(await gates()).toEqual([]);

    s.h.userConfig({ policy: [{ kind: 'merge', pattern: 'main', action: 'allow' }] });
    const allowed = await cli(['pr', 'merge', pr, '--json']);
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
    expect(lastLine(allowed)).toMatchObject({ pr, status: 'merged' });
    expect(await gates()).toEqual([]);
    expect(git(repo, 'show', 'main:src/cart.js')).toContain(FIX);
    expect((await ledger(pr)).at(-2)?.decision).toMatchObject({ by: 'policy', autonomous: true });
  }, 180_000);
});

describe('the agent cannot reach the gates', () => {
  it("a run's shell sees neither SLIPWAY_HOME nor the store", async () => {
    const repo = s.newRepo('demo-cart');
    const store = path.join(s.h.home, 'slipway.db');
    s.h.server.turns([
      { toolCalls: [{ name: 'submit_plan', input: { summary: 'look around', steps: ['look'], acceptance: ['nothing'] } }] },
      {
        toolCalls: [
          {
            name: 'shell',
            input: { command: `echo "STORE_$(test -e '${store}' && echo VISIBLE || echo HIDDEN)"; echo "home=[$SLIPWAY_HOME]"` },
          },
        ],
      },
    ]);
    await s.h.run('openai', ['run', 'Look around', '--repo', repo, '--json']);
    const answered = s.h.server.requests.map((r) => r.rawBody).find((b) => b.includes('STORE_HIDDEN') || b.includes('STORE_VISIBLE'));
    expect(answered).toBeDefined();
    expect(answered).toContain('STORE_HIDDEN');
    expect(answered).not.toContain('STORE_VISIBLE');
    expect(answered).toContain('home=[]');
  }, 120_000);
});
