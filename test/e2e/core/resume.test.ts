/** An escalated run is answered and goes on in the clone it kept, on the same branch, to a pull request. */
import { expect, it } from 'vitest';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { runCli } from '../../support/cli.js';
import { git } from '../../support/repos.js';
import { demoTurns, lastLine, MODEL, useScenario } from './scenario.js';

const s = useScenario('demo-cart');

it('answer: the escalated run continues with the person\'s answer and opens its PR on the same branch', async () => {
  const [readCart, plan, , fixCart, addTest, runTests, finish, verdictPass] = demoTurns() as ScriptTurn[];
  const again: ScriptTurn = { toolCalls: [{ name: 'read_file', input: { path: 'src/cart.js' } }] };
  s.h.server.turns([readCart!, plan!, fixCart!, again, again, again]);
  const first = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
  const escalated = lastLine(first);
  expect(escalated).toMatchObject({ status: 'escalated' });
  const branch = String(escalated.branch);
  // The fix made before the escalation was kept on the branch.
  expect(git(s.repo, 'show', `${branch}:src/cart.js`)).toContain('discountPercent / 100');

  const answered = s.h.server.requests.length;
  s.h.server.turns([addTest!, runTests!, finish!, verdictPass!]);
  const ANSWER = 'The fix is right; add a test for a 10% discount and finish.';
  const result = await runCli(['answer', String(escalated.run), ANSWER, '--json', '--model', MODEL.openai], s.h.env('openai'));
  const last = lastLine(result);
  expect(last, result.stdout.slice(-1500) + result.stderr).toMatchObject({ run: escalated.run, status: 'pr_open', branch });
  expect(result.code).toBe(0);
  // The plan was reused (no planner call), and the coder was told about its earlier work and the answer.
  const resumed = s.h.server.requests.slice(answered);
  expect(resumed.some((r) => r.rawBody.includes("Slipway's planner"))).toBe(false);
  expect(resumed[0]!.rawBody).toContain(ANSWER);
  expect(resumed[0]!.rawBody).toContain('src/cart.js');
  // It goes on in its own conversation: the edit it made before escalating is in the request, before the answer.
  const fixCall = fixCart!.toolCalls![0] as unknown as { input: { new_text: string } };
  const fix = JSON.stringify(fixCall.input.new_text).slice(1, -1);
  expect(resumed[0]!.rawBody).toContain(fix);
  expect(resumed[0]!.rawBody.indexOf(fix)).toBeLessThan(resumed[0]!.rawBody.indexOf(ANSWER));
  const pr = JSON.parse((await runCli(['pr', 'show', String(last.pr), '--json'], s.h.env('openai'))).stdout);
  expect(pr.tests.before).toEqual({ passed: 2, failed: 0, skipped: 0 }); // measured on the base commit, not the kept work
  expect(pr.tests.newTests).toEqual([
    { file: 'test/cart.test.js', test: 'applies the discount as a percentage', failedBefore: true, passedAfter: true },
  ]);
  expect(pr.decisions).toContainEqual(expect.objectContaining({ by: 'person', autonomous: false, reason: ANSWER }));
  expect((await runCli(['ledger', String(last.pr), '--verify'], s.h.env('openai'))).code).toBe(0);
  // A run that already opened its PR cannot be resumed.
  const again2 = await runCli(['resume', String(escalated.run), '--json', '--model', MODEL.openai], s.h.env('openai'));
  expect(again2.code).toBe(1);
  expect(String(lastLine(again2).error)).toMatch(/cannot be resumed: it is pr_open/);
  // An unknown run is a clear error (exit 1), not a usage error.
  const unknown = await runCli(['resume', 'r-nosuchrun'], s.h.env('openai'));
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/No run "r-nosuchrun"\. Recent runs are listed by: slipway log --list/);
});
