/** Runs that must not open a pull request, and runs that must be sent back before they may. */
import { describe, expect, it } from 'vitest';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { runCli } from '../../support/cli.js';
import { git, repoState } from '../../support/repos.js';
import { demoTurns, lastLine, useScenario } from './scenario.js';

const s = useScenario('demo-cart');

const turns = demoTurns();
const [readCart, plan, readTest, fixCart, addTest, runTests, finish, verdictPass] = turns as [ScriptTurn, ScriptTurn, ScriptTurn, ScriptTurn, ScriptTurn, ScriptTurn, ScriptTurn, ScriptTurn];

describe('escalation', () => {
  it('opens no PR when the verifier says pass while a test fails, and escalates with the branch kept', async () => {
    const before = repoState(s.repo);
    s.h.server.turns([
      readCart,
      plan,
      fixCart,
      addTest,
      // Breaks a test that passed before: itemCount now counts lines, not quantities.
      { toolCalls: [{ name: 'edit_file', input: { path: 'src/cart.js', old_text: 'count + item.quantity', new_text: 'count + 1' } }] },
      finish,
      verdictPass,
    ]);
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json', '--verify-rounds', '1']);
    const last = lastLine(result);
    expect(last).toMatchObject({ status: 'escalated', pr: null });
    expect(result.code).toBe(3);
    expect(String(last.question)).toMatch(/did not pass verification/);
    expect(String(last.question)).toContain('counts items');
    const verification = result.json.find((e) => e.type === 'verification') as { verification: { verdict: string; overriddenBy: string[] } };
    expect(verification.verification.verdict).toBe('fail');
    expect(verification.verification.overriddenBy.join(' ')).toMatch(/passed before your change and fail now: counts items/);
    expect((await runCli(['pr', 'list', '--json'], s.h.env('openai'))).stdout.trim()).toBe('[]');
    // The work is kept on the named branch; main is untouched.
    const branch = String(last.branch);
    expect(git(s.repo, 'show', `${branch}:src/cart.js`)).toContain('count + 1');
    expect(repoState(s.repo).mainSha).toBe(before.mainSha);
  });

  it('escalates with a question when the agent loops on the same call', async () => {
    const again: ScriptTurn = { toolCalls: [{ name: 'read_file', input: { path: 'src/cart.js' } }] };
    s.h.server.turns([readCart, plan, again, again, again]);
    const result = await s.h.run('anthropic', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    const last = lastLine(result);
    expect(last).toMatchObject({ status: 'escalated', pr: null });
    expect(result.code).toBe(3);
    expect(String(last.question)).toMatch(/stuck: the same read_file call returned the same result 3 times/);
    expect(s.h.server.pending()).toBe(0);
    const log = await runCli(['log', String(last.run)], s.h.env('anthropic'));
    expect(log.stdout).toMatch(/escalated/);
    expect(log.stdout).toMatch(/question: I am stuck/);
  });

  it('escalates when the budget runs out', async () => {
    s.h.server.turns([readCart, plan, readTest]);
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json', '--max-steps', '3']);
    expect(result.code).toBe(3);
    expect(String(lastLine(result).question)).toMatch(/budget: 3 model calls \(limit 3\)/);
  });

  it('sends back a new test that does not catch the bug, and a malformed call, then opens the PR', async () => {
    const uselessTest: ScriptTurn = {
      toolCalls: [
        {
          name: 'edit_file',
          input: {
            path: 'test/cart.test.js',
            old_text: "test('counts items', () => {",
            new_text: "test('counts items again', () => {\n  assert.equal(itemCount(items), 6);\n});\n\ntest('counts items', () => {",
          },
        },
      ],
    };
    const replaceWithReal: ScriptTurn = {
      toolCalls: [
        {
          name: 'edit_file',
          input: {
            path: 'test/cart.test.js',
            old_text: "test('counts items again', () => {\n  assert.equal(itemCount(items), 6);\n});",
            new_text: "test('applies the discount as a percentage', () => {\n  assert.equal(cartTotal(items, 10), 180);\n});",
          },
        },
      ],
    };
    s.h.server.turns([
      readCart,
      plan,
      { toolCalls: [{ name: 'edit_file', rawArguments: '{"path": "src/cart.js", "old_text": ' }] },
      fixCart,
      uselessTest,
      finish,
      verdictPass,
      replaceWithReal,
      runTests,
      finish,
      verdictPass,
    ]);
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    const last = lastLine(result);
    expect(last, result.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    // The malformed call went back to the model as an error it could act on.
    const recovery = s.h.server.requests[3]!.rawBody;
    expect(recovery).toMatch(/could not be used/);
    // The coder was told, on the wire, that its test did not catch the bug.
    const sentBack = s.h.server.requests.find((r) => r.rawBody.includes('does not catch the bug'));
    expect(sentBack?.rawBody).toContain('counts items again');
    const pr = JSON.parse((await runCli(['pr', 'show', String(last.pr), '--json'], s.h.env('openai'))).stdout);
    expect(pr.verification.round).toBe(2);
    expect(pr.tests.newTests).toEqual([
      { file: 'test/cart.test.js', test: 'applies the discount as a percentage', failedBefore: true, passedAfter: true },
    ]);
  });
});
