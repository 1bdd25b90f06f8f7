/**
 * The whole loop on real repositories: the model, scripted over the HTTP fake of each vendor, fixes a real bug
 * and adds a test; the PR shows that test failing before and passing after.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { git, repoState } from '../../support/repos.js';
import { demoTurns, lastLine, onlyJson, useScenario } from './scenario.js';

const s = useScenario();

describe('slipway run opens a pull request', () => {
  it('fixes a JavaScript bug over the OpenAI Responses API, surviving a 429 and a dropped stream', async () => {
    const repo = s.newRepo('demo-cart');
    // Uncommitted work in the user's tree: not seen by the run, not touched.
    const cart = path.join(repo, 'src', 'cart.js');
    const dirty = `${readFileSync(cart, 'utf8')}// my local note\n`;
    await import('node:fs').then((fs) => fs.writeFileSync(cart, dirty));
    const before = repoState(repo);

    const turns = demoTurns();
    s.h.server.fail({ status: 429, headers: { 'retry-after': '0' } });
    s.h.server.reply(turns[0]!);
    s.h.server.dropStream({ afterChunks: 2, turn: turns[1]! });
    s.h.server.turns(turns.slice(1));

    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', repo, '--json']);
    expect(result.stderr).toBe('');
    expect(onlyJson(result)).toBe(true);
    const last = lastLine(result);
    expect(last).toMatchObject({ status: 'pr_open' });
    expect(result.code).toBe(0);
    expect(result.json.some((e) => e.type === 'notice' && String(e.message).includes('uncommitted changes'))).toBe(true);
    expect(result.json.filter((e) => e.type === 'model_retry').length).toBeGreaterThanOrEqual(1);

    const show = await runCli(['pr', 'show', String(last.pr), '--json'], s.h.env('openai'));
    expect(show.code).toBe(0);
    const pr = JSON.parse(show.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(pr).toMatchObject({ id: last.pr, run: last.run, status: 'open', base: 'main' });
    expect(pr.branch).toMatch(/^slipway\/fix-the-discount-in-carttotal-r-/);
    expect(pr.plan.acceptance.length).toBeGreaterThan(0);
    expect(pr.tests.command).toBe('npm test');
    expect(pr.tests.before).toEqual({ passed: 2, failed: 0, skipped: 0 });
    expect(pr.tests.after).toEqual({ passed: 3, failed: 0, skipped: 0 });
    expect(pr.tests.newTests).toEqual([
      { file: 'test/cart.test.js', test: 'applies the discount as a percentage', failedBefore: true, passedAfter: true },
    ]);
    expect(pr.verification.verdict).toBe('pass');
    expect(pr.verification.findings).toHaveLength(3);
    expect(pr.usage.inputTokens).toBeGreaterThan(0);
    expect(pr.decisions.some((d: { by: string }) => d.by === 'agent')).toBe(true);
    expect(pr.body).toContain('## Test evidence');

    // The branch landed in the user's repository; their checked-out tree, HEAD and main are untouched.
    const after = repoState(repo);
    expect(after.head).toBe(before.head);
    expect(after.mainSha).toBe(before.mainSha);
    expect(after.status).toBe(before.status);
    expect(readFileSync(cart, 'utf8')).toBe(dirty);
    expect(git(repo, 'rev-parse', pr.branch)).toBe(pr.head);
    expect(git(repo, 'show', `${pr.branch}:src/cart.js`)).toContain('subtotal * (1 - discountPercent / 100)');
    expect(git(repo, 'log', '-1', '--format=%an <%ae>', pr.branch)).toBe('Slipway <slipway@localhost>');

    // The verifier's request carries none of the coder's transcript.
    const verifierRequests = s.h.server.requests.filter((r) => r.rawBody.includes("Slipway's verifier"));
    expect(verifierRequests).toHaveLength(1);
    const body = verifierRequests[0]!.rawBody;
    expect(body).toContain('Fix the discount in cartTotal');
    expect(body).toContain('subtotal * (1 - discountPercent / 100)'); // the diff
    expect(body).not.toContain('Fixing the calculation.'); // the coder's words
    expect(body).not.toContain("Slipway's coder");
    expect(body).not.toContain('call_'); // no tool calls of the agent
    expect(body).not.toMatch(/"role":"assistant"/);
  });

  it('fixes a Python bug over the Anthropic Messages API with pytest in the sandbox', async () => {
    const repo = s.newRepo('py-stats');
    s.h.server.turns([
      { toolCalls: [{ name: 'read_file', input: { path: 'stats/core.py' } }] },
      {
        toolCalls: [
          {
            name: 'submit_plan',
            input: {
              summary: 'median must sort its input first.',
              steps: ['Sort the values in median', 'Add a test with unsorted values'],
              acceptance: ['median sorts before picking the middle', 'A new test fails before and passes after'],
            },
          },
        ],
      },
      { toolCalls: [{ name: 'edit_file', input: { path: 'stats/core.py', old_text: '    middle = len(values) // 2', new_text: '    values = sorted(values)\n    middle = len(values) // 2' } }] },
      {
        toolCalls: [
          {
            name: 'edit_file',
            input: {
              path: 'tests/test_core.py',
              old_text: 'def test_median_of_sorted_values():',
              new_text: 'def test_median_of_unsorted_values():\n    assert median([3, 1, 2]) == 2\n\n\ndef test_median_of_sorted_values():',
            },
          },
        ],
      },
      { toolCalls: [{ name: 'run_tests', input: {} }] },
      { toolCalls: [{ name: 'finish', input: { summary: 'median sorts its input.' } }] },
      {
        toolCalls: [
          {
            name: 'submit_verdict',
            input: {
              verdict: 'pass',
              findings: [
                { check: 'median sorts before picking the middle', verdict: 'pass', evidence: 'sorted(values) in stats/core.py' },
                { check: 'A new test fails before and passes after', verdict: 'pass', evidence: 'test_median_of_unsorted_values' },
              ],
            },
          },
        ],
      },
    ]);
    const result = await s.h.run('anthropic', ['run', 'median gives wrong results for unsorted input', '--repo', repo, '--json']);
    const last = lastLine(result);
    expect(last, result.stdout.slice(-2000)).toMatchObject({ status: 'pr_open' });
    expect(result.code).toBe(0);
    const pr = JSON.parse((await runCli(['pr', 'show', String(last.pr), '--json'], s.h.env('anthropic'))).stdout);
    expect(pr.tests.command).toMatch(/pytest/);
    expect(pr.tests.before).toEqual({ passed: 2, failed: 0, skipped: 0 });
    expect(pr.tests.after).toEqual({ passed: 3, failed: 0, skipped: 0 });
    expect(pr.tests.newTests).toEqual([
      { file: 'tests/test_core.py', test: 'tests/test_core.py::test_median_of_unsorted_values', failedBefore: true, passedAfter: true },
    ]);
    // Every request went to the Anthropic endpoint and used prompt caching.
    expect(s.h.server.requests.every((r) => r.vendor === 'anthropic')).toBe(true);
    expect(s.h.server.requests[0]!.rawBody).toContain('cache_control');
  });

  it('works with an OpenAI-compatible server (chat completions) and human output', async () => {
    const repo = s.newRepo('demo-cart');
    s.h.server.turns(demoTurns());
    const result = await s.h.run('openai-compatible', ['run', 'Fix the discount in cartTotal', '--repo', repo, '--base-url', s.h.server.openaiBaseUrl]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Pull request pr-\w+ is open/);
    expect(result.stderr).toMatch(/▸ verify/);
    expect(s.h.server.requests.every((r) => r.vendor === 'openai-chat')).toBe(true);
    const list = await runCli(['pr', 'list'], s.h.env('openai'));
    expect(list.stdout).toMatch(/pr-\w+ +open/);
  });
});
