/**
 * A person in the loop of a run: --approve-plan puts the plan behind a gate, a rule that answers `ask` puts an
 * agent's action behind one, `--wait` blocks at a gate while another process answers it, and without it the
 * run rests (exit 4) until `slipway approve` / `reject` continue it. A rejection's reason, or
 * `slipway pr revise`, sends the work back to the agent on the same branch. Every command is its own process.
 */
import { describe, expect, it } from 'vitest';
import type { Gate, LedgerEntry, PullRequest } from '../../../src/protocol/index.js';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { git } from '../../support/repos.js';
import { demoTurns, lastLine, MODEL, useScenario } from '../core/scenario.js';

const s = useScenario('demo-cart');
const GOAL = 'Fix the discount in cartTotal';

const cli = (args: string[]): Promise<CliResult> => runCli(args, s.h.env('openai'));
const withModel = (args: string[]): Promise<CliResult> => cli([...args, '--model', MODEL.openai]);

async function gates(): Promise<Gate[]> {
  const listed = await cli(['gates', '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as Gate[];
}

async function pendingGate(timeoutMs = 60_000): Promise<Gate> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await gates()).find((g) => g.status === 'pending');
    if (found) return found;
    if (Date.now() > deadline) throw new Error('no pending gate appeared');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function showPr(pr: string): Promise<PullRequest> {
  const shown = await cli(['pr', 'show', pr, '--json']);
  expect(shown.code, shown.stderr).toBe(0);
  return JSON.parse(shown.stdout) as PullRequest;
}

async function ledger(id: string): Promise<LedgerEntry[]> {
  const listed = await cli(['ledger', id, '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as LedgerEntry[];
}

function turns(): Record<'readCart' | 'plan' | 'readTest' | 'fixCart' | 'addTest' | 'runTests' | 'finish' | 'verdict', ScriptTurn> {
  const [readCart, plan, readTest, fixCart, addTest, runTests, finish, verdict] = demoTurns() as ScriptTurn[];
  return { readCart: readCart!, plan: plan!, readTest: readTest!, fixCart: fixCart!, addTest: addTest!, runTests: runTests!, finish: finish!, verdict: verdict! };
}

describe('--approve-plan', () => {
  it('rests at the plan (exit 4, nothing written), and approving continues the run in that process to a PR', async () => {
    const t = turns();
    s.h.server.turns([t.readCart, t.plan]);
    const mainBefore = git(s.repo, 'rev-parse', 'main');
    const first = await withModel(['run', GOAL, '--repo', s.repo, '--approve-plan', '--json']);
    expect(first.code, first.stderr + first.stdout.slice(-1500)).toBe(4);
    const rest = lastLine(first);
    expect(rest).toMatchObject({ status: 'awaiting_approval', pr: null, gate: expect.stringMatching(/^g-/) as string });
    expect(String(rest.question)).toContain(`slipway approve ${String(rest.gate)}`);
    expect(s.h.server.requests).toHaveLength(2); // the planner only: no coder before the plan is approved

    const [gate] = await gates();
    expect(gate).toMatchObject({ id: rest.gate, run: rest.run, action: 'plan', status: 'pending', evidence: { plan: { acceptance: expect.arrayContaining(['The existing tests still pass']) as string[] } } });
    expect(gate!.waiter).toBeUndefined();
    const human = await cli(['gates']);
    expect(human.stdout).toContain('acceptance:');
    expect(human.stdout).toContain(`slipway approve ${gate!.id}`);
    // The branch holds no change; the user's base is untouched.
    expect(git(s.repo, 'rev-parse', 'main')).toBe(mainBefore);
    expect(git(s.repo, 'diff', '--stat', `main...${String(rest.branch)}`)).toBe('');
    // `slipway resume` cannot skip the gate.
    const skipped = await withModel(['resume', String(rest.run), '--json']);
    expect(skipped.code).toBe(1);
    expect(String(lastLine(skipped).error)).toMatch(/awaiting_approval.*slipway approve/s);

    s.h.server.turns([t.readTest, t.fixCart, t.addTest, t.runTests, t.finish, t.verdict]);
    const approved = await withModel(['approve', gate!.id, '--note', 'good plan', '--json']);
    const done = lastLine(approved);
    expect(done, approved.stderr + approved.stdout.slice(-1500)).toMatchObject({ run: rest.run, status: 'pr_open' });
    expect(approved.code).toBe(0);
    expect(approved.stderr).toContain('goes on here');
    // The coder was told the plan was approved; the planner was not asked again.
    const resumed = s.h.server.requests.slice(2);
    expect(resumed.some((r) => r.rawBody.includes("Slipway's planner"))).toBe(false);
    expect(resumed[0]!.rawBody).toContain('A person approved the plan');
    expect((await gates()).find((g) => g.id === gate!.id)).toMatchObject({ status: 'done', answer: { by: 'person', note: 'good plan' } });
    const entries = await ledger(String(done.pr));
    expect(entries.map((e) => e.decision)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: expect.stringMatching(/^ask a person: plan /) as string, by: 'policy', autonomous: false, evidence: gate!.id }),
        expect.objectContaining({ action: expect.stringMatching(new RegExp(`^approve gate ${gate!.id}`)) as string, by: 'person', reason: 'good plan' }),
      ]),
    );
    expect((await cli(['ledger', String(done.pr), '--verify'])).code).toBe(0);
  });

  it('--wait blocks at the gate; a reject from another process sends the reason to the planner, and an approval goes on', async () => {
    const t = turns();
    const plan2: ScriptTurn = {
      toolCalls: [{ name: 'submit_plan', input: { summary: 'Apply discountPercent as a percentage, and treat a negative discount as none.', steps: ['Fix src/cart.js', 'Add a test'], acceptance: ['cartTotal applies discountPercent as a percentage of the subtotal', 'A new test fails before the fix and passes after it', 'The existing tests still pass'] } }],
    };
    s.h.server.turns([t.readCart, t.plan, plan2, t.readTest, t.fixCart, t.addTest, t.runTests, t.finish, t.verdict]);
    const running = withModel(['run', GOAL, '--repo', s.repo, '--approve-plan', '--wait', '2m', '--json']);

    const first = await pendingGate();
    expect(first.waiter).toMatchObject({ pid: expect.any(Number) as number });
    const REASON = 'Also treat a negative discount as no discount.';
    const rejected = await cli(['reject', first.id, '--reason', REASON, '--json']);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stderr).toContain('goes on by itself');
    expect(lastLine(rejected)).toMatchObject({ gate: first.id, status: 'rejected', continued: 'waiting process' });

    const second = await pendingGate();
    expect(second.id).not.toBe(first.id);
    expect(second.evidence.plan?.summary).toMatch(/negative discount/);
    // The planner saw the rejected plan and the person's reason.
    const replanned = s.h.server.requests[2]!;
    expect(replanned.rawBody).toContain(REASON);
    expect(replanned.rawBody).toContain('rejected it');
    const approved = await cli(['approve', second.id]);
    expect(approved.code, approved.stderr).toBe(0);

    const result = await running;
    expect(lastLine(result), result.stderr + result.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    expect(result.code).toBe(0);
    expect(result.json.filter((l) => l.type === 'gate_answered').map((l) => l.status)).toEqual(['rejected', 'approved']);
    const pr = await showPr(String(lastLine(result).pr));
    expect(pr.plan.summary).toMatch(/negative discount/);
  });

  it('rejecting a resting plan goes on in that process: the planner plans again with the reason, and asks again', async () => {
    const t = turns();
    s.h.server.turns([t.readCart, t.plan]);
    const first = await withModel(['run', GOAL, '--repo', s.repo, '--approve-plan', '--json']);
    expect(first.code, first.stderr).toBe(4);
    const gate = String(lastLine(first).gate);
    const REASON = 'Say which test proves the fix.';
    const plan2: ScriptTurn = { toolCalls: [{ name: 'submit_plan', input: { summary: 'Fix the percentage; the new test "applies the discount as a percentage" proves it.', steps: ['Fix', 'Test'], acceptance: ['The existing tests still pass'] } }] };
    s.h.server.turns([plan2]);
    const rejected = await withModel(['reject', gate, '--reason', REASON, '--json']);
    expect(rejected.code, rejected.stderr + rejected.stdout.slice(-1000)).toBe(4);
    expect(rejected.stderr).toContain('goes on here');
    const again = lastLine(rejected);
    expect(again).toMatchObject({ run: lastLine(first).run, status: 'awaiting_approval' });
    expect(again.gate).not.toBe(gate);
    expect(s.h.server.requests[2]!.rawBody).toContain(REASON);
    // In the conversation that made the plan: what the planner read is still there.
    expect(s.h.server.requests[2]!.rawBody).toContain('return subtotal - discountPercent;');
    const all = await gates();
    expect(all.find((g) => g.id === gate)).toMatchObject({ status: 'rejected', answer: { reason: REASON } });
    expect(all.find((g) => g.id === again.gate)).toMatchObject({ status: 'pending', evidence: { plan: { summary: expect.stringContaining('proves it') as string } } });
  });

  it('--wait that runs out leaves the gate pending with no waiter, and exits 4', async () => {
    const t = turns();
    s.h.server.turns([t.readCart, t.plan]);
    const result = await withModel(['run', GOAL, '--repo', s.repo, '--approve-plan', '--wait', '1s', '--json']);
    expect(result.code, result.stderr).toBe(4);
    expect(lastLine(result)).toMatchObject({ status: 'awaiting_approval' });
    const [gate] = await gates();
    expect(gate).toMatchObject({ status: 'pending', action: 'plan' });
    expect(gate!.waiter).toBeUndefined();
    const badWait = await withModel(['run', GOAL, '--repo', s.repo, '--wait', 'soon']);
    expect(badWait.code).toBe(2);
    expect(badWait.stderr).toContain('--wait takes a duration');
  });
});

describe('an action a rule answers with ask', () => {
  it('becomes a gate; the run keeps its work and rests, and approving goes on from that very call, in the same conversation', async () => {
    s.h.userConfig({ policy: [{ kind: 'write', pattern: 'test/**', action: 'ask' }] });
    const t = turns();
    s.h.server.turns([t.readCart, t.plan, t.readTest, t.fixCart, t.addTest]);
    const first = await withModel(['run', GOAL, '--repo', s.repo, '--json']);
    expect(first.code, first.stderr + first.stdout.slice(-1500)).toBe(4);
    const rest = lastLine(first);
    const [gate] = await gates();
    expect(gate).toMatchObject({ id: rest.gate, action: 'write', subject: 'test/cart.test.js', status: 'pending', risk: { level: 'medium' } });
    expect(gate!.why).toContain('write `test/**` ask, from user');
    expect(gate!.evidence.diffstat).toContain('src/cart.js');
    // The fix made before the gate is kept on the run's branch; the test file was not written.
    expect(git(s.repo, 'show', `${String(rest.branch)}:src/cart.js`)).toContain('discountPercent / 100');
    expect(git(s.repo, 'show', `${String(rest.branch)}:test/cart.test.js`)).not.toContain('applies the discount as a percentage');

    // No model call re-asks for the edit: the approved call itself runs, and its result goes to the same conversation.
    s.h.server.turns([t.runTests, t.finish, t.verdict]);
    const approved = await withModel(['approve', gate!.id, '--json']);
    expect(lastLine(approved), approved.stderr + approved.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    expect(s.h.server.requests).toHaveLength(8);
    const resumedFirst = s.h.server.requests[5]!;
    expect(resumedFirst.rawBody).toContain('Edited test/cart.test.js: replaced 1 occurrence(s).');
    expect(resumedFirst.rawBody).toContain('Fixing the calculation.'); // the coder's earlier turns are still there
    expect(resumedFirst.rawBody).not.toContain('You are resuming');
    const pr = await showPr(String(lastLine(approved).pr));
    expect(pr.tests.newTests).toEqual([{ file: 'test/cart.test.js', test: 'applies the discount as a percentage', failedBefore: true, passedAfter: true }]);
  });

  it('rejecting a resting action goes on in that process: the call gets the refusal and the reason, and is not asked again', async () => {
    s.h.userConfig({ policy: [{ kind: 'write', pattern: 'test/**', action: 'ask' }] });
    const t = turns();
    s.h.server.turns([t.readCart, t.plan, t.readTest, t.fixCart, t.addTest]);
    const first = await withModel(['run', GOAL, '--repo', s.repo, '--json']);
    expect(first.code, first.stderr).toBe(4);
    const gate = String(lastLine(first).gate);
    const finishNoTest: ScriptTurn = { toolCalls: [{ name: 'finish', input: { summary: 'Applied the discount as a percentage.', no_test_reason: 'a person refused changes to the tests' } }] };
    s.h.server.turns([finishNoTest, t.verdict]);
    const REASON = 'The tests are owned by another team.';
    const rejected = await withModel(['reject', gate, '--reason', REASON, '--json']);
    expect(lastLine(rejected), rejected.stderr + rejected.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    const afterReject = s.h.server.requests[5]!;
    expect(afterReject.rawBody).toContain(`A person refused: writing test/cart.test.js. Their reason: ${REASON}`);
    expect((await gates()).map((g) => [g.id, g.status])).toEqual([[gate, 'rejected']]);
    expect(git(s.repo, 'show', `${String(lastLine(rejected).branch)}:test/cart.test.js`)).not.toContain('applies the discount as a percentage');
  });

  it('with --wait, a rejection goes back to the model as the tool result, with the reason', async () => {
    s.h.userConfig({ policy: [{ kind: 'exec', pattern: 'npm publish*', action: 'ask' }] });
    const t = turns();
    const publish: ScriptTurn = { toolCalls: [{ name: 'shell', input: { command: 'npm publish --dry-run' } }] };
    const finishNoTest: ScriptTurn = { toolCalls: [{ name: 'finish', input: { summary: 'Applied the discount as a percentage.', no_test_reason: 'covered by the existing tests' } }] };
    const verdictFail: ScriptTurn = {
      toolCalls: [{ name: 'submit_verdict', input: { verdict: 'fail', findings: [{ check: 'A new test fails before the fix and passes after it', verdict: 'fail', evidence: 'no new test' }] } }],
    };
    s.h.server.turns([t.readCart, t.plan, t.fixCart, publish, finishNoTest, verdictFail]);
    const running = withModel(['run', GOAL, '--repo', s.repo, '--wait', '2m', '--verify-rounds', '1', '--json']);
    const gate = await pendingGate();
    expect(gate).toMatchObject({ action: 'exec', subject: 'npm publish --dry-run' });
    const REASON = 'Nothing leaves this machine from a run.';
    expect((await cli(['reject', gate.id, '--reason', REASON])).code).toBe(0);
    const result = await running;
    expect(result.code, result.stderr).toBe(3); // the scripted verifier fails it; what matters is the tool result
    const afterReject = s.h.server.requests[4]!;
    expect(afterReject.rawBody).toContain('A person refused');
    expect(afterReject.rawBody).toContain(REASON);
    const entries = await ledger(String(lastLine(result).run));
    expect(entries.map((e) => e.decision)).toContainEqual(expect.objectContaining({ by: 'person', reason: REASON, evidence: gate.id }));
  });
});

describe('sending a pull request back', () => {
  async function openPr(): Promise<{ pr: string; run: string; branch: string }> {
    s.h.server.turns(demoTurns());
    const result = await withModel(['run', GOAL, '--repo', s.repo, '--json']);
    const last = lastLine(result);
    expect(last, result.stdout.slice(-1500) + result.stderr).toMatchObject({ status: 'pr_open' });
    return { pr: String(last.pr), run: String(last.run), branch: String(last.branch) };
  }
  const ROUND: ScriptTurn = {
    toolCalls: [{ name: 'edit_file', input: { path: 'src/cart.js', old_text: '  return subtotal * (1 - discountPercent / 100);', new_text: '  return Math.round(subtotal * (1 - discountPercent / 100) * 100) / 100;' } }],
  };

  it('pr revise: the agent works on the same branch with the feedback and the same PR is updated', async () => {
    const { pr, branch } = await openPr();
    const before = await showPr(pr);
    const asked = s.h.server.requests.length;
    const t = turns();
    s.h.server.turns([ROUND, t.runTests, t.finish, t.verdict]);
    const FEEDBACK = 'Round the total to cents.';
    const revised = await withModel(['pr', 'revise', pr, FEEDBACK, '--json']);
    expect(lastLine(revised), revised.stderr + revised.stdout.slice(-1500)).toMatchObject({ status: 'pr_open', pr, branch });
    expect(revised.code).toBe(0);
    expect(s.h.server.requests[asked]!.rawBody).toContain(FEEDBACK);
    const after = await showPr(pr);
    expect(after.head).not.toBe(before.head);
    expect(after.createdAt).toBe(before.createdAt);
    expect(git(s.repo, 'show', `${branch}:src/cart.js`)).toContain('Math.round');
    expect(after.history?.map((h) => h.event)).toEqual(['revision_requested', 'revised']);
    expect(after.tests.newTests).toHaveLength(1); // still proven on the base commit
    expect((await cli(['pr', 'list', '--json'])).stdout.match(/"id"/g)).toHaveLength(1);
    expect(after.decisions).toContainEqual(expect.objectContaining({ by: 'person', reason: FEEDBACK }));
    expect((await cli(['ledger', pr, '--verify'])).code).toBe(0);
    const empty = await cli(['pr', 'revise', pr, '  ']);
    expect(empty.code).toBe(2);
  });

  it('a revision that comes to a gate rests there; asking for another revision meanwhile is refused and records nothing', async () => {
    const { pr } = await openPr();
    s.h.userConfig({ policy: [{ kind: 'write', pattern: 'src/**', action: 'ask' }] });
    s.h.server.turns([ROUND]);
    const revised = await withModel(['pr', 'revise', pr, 'Round to cents.', '--json']);
    expect(revised.code, revised.stderr + revised.stdout.slice(-1000)).toBe(4);
    expect(lastLine(revised)).toMatchObject({ status: 'awaiting_approval', pr });
    const gate = String(lastLine(revised).gate);
    const again = await withModel(['pr', 'revise', pr, 'Also log it.']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already waits at gate ${gate}`);
    expect(again.stderr).toContain(`slipway approve ${gate}`);
    const after = await showPr(pr);
    expect(after.history?.map((h) => h.event)).toEqual(['revision_requested']);
    expect(after.status).toBe('open');
  });

  it('rejecting a merge gate sends its reason to the agent, which revises the PR; a new merge asks again', async () => {
    const { pr } = await openPr();
    const merge = await cli(['pr', 'merge', pr, '--json']);
    expect(merge.code, merge.stderr).toBe(4);
    const gate = String(lastLine(merge).gate);
    const asked = s.h.server.requests.length;
    const t = turns();
    s.h.server.turns([ROUND, t.runTests, t.finish, t.verdict]);
    const REASON = 'Amounts must be rounded to cents before this merges.';
    const rejected = await withModel(['reject', gate, '--reason', REASON, '--json']);
    expect(lastLine(rejected), rejected.stderr + rejected.stdout.slice(-1500)).toMatchObject({ status: 'pr_open', pr });
    expect(rejected.json.every((l) => !('__notJson' in l))).toBe(true);
    expect(s.h.server.requests[asked]!.rawBody).toContain(REASON);
    const after = await showPr(pr);
    expect(after.history?.map((h) => h.event)).toEqual(['merge_requested', 'rejected', 'revision_requested', 'revised']);
    // A new merge asks again, for the revised head.
    const again = await cli(['pr', 'merge', pr, '--json']);
    expect(again.code).toBe(4);
    expect(String(lastLine(again).gate)).not.toBe(gate);
  });
});
