/**
 * Policy as data, end to end: a committed `.env` holding a canary secret never reaches the model, whether the
 * agent reads it, searches for it or cats it in the sandbox; the pull request still opens. A repository cannot
 * loosen the policy, and `slipway policy` says so.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { runCli } from '../../support/cli.js';
import { demoTurns, lastLine, useScenario } from '../core/scenario.js';

const CANARY = 'sk-canary-5bd1e0c7a94f';

const s = useScenario();

const call = (name: string, input: Record<string, unknown>): ScriptTurn => ({ toolCalls: [{ name, input }] });

describe('policy', () => {
  it('keeps a committed .env away from the model (read, search, shell), and still opens the PR', async () => {
    const repo = s.newRepo('demo-cart', {
      '.env': `API_TOKEN=${CANARY}\n`,
      'deploy/site.pem': `-----BEGIN PRIVATE KEY-----\n${CANARY}\n-----END PRIVATE KEY-----\n`,
      'fixtures/token.txt': `${CANARY}\n`,
      // Tightens (accepted) and tries to loosen (dropped).
      '.slipway/config.json': JSON.stringify({
        policy: [
          { kind: 'read_secret', pattern: 'fixtures/token.txt', action: 'deny' },
          { kind: 'write_outside', action: 'allow' },
          { kind: 'read_secret', pattern: '.env', action: 'allow' },
        ],
      }),
    });
    // Positive control: the file holds the canary, and a plain `cat` outside the sandbox prints it.
    expect(execFileSync('cat', ['.env'], { cwd: repo, encoding: 'utf8' })).toContain(CANARY);

    const [readCart, plan, , fixCart, addTest, runTests, finish, verdictPass] = demoTurns() as ScriptTurn[];
    s.h.server.turns([
      readCart!,
      call('read_file', { path: '.env' }),
      plan!,
      call('read_file', { path: '.env' }),
      call('read_file', { path: 'fixtures/token.txt' }),
      call('search', { pattern: 'sk-canary' }),
      call('search', { pattern: 'API_TOKEN', path: '.env' }),
      call('list_files', {}),
      // In the sandbox: cat, a link to it from /tmp, a copy, and a file that is not secret as the control.
      call('shell', { command: 'cat .env deploy/site.pem fixtures/token.txt; ln -s "$PWD/.env" /tmp/leak; cat /tmp/leak; cp .env /tmp/copy; cat /tmp/copy; grep -r sk-canary . ; git show HEAD:.env; git log -p | head -50; echo control:; cat src/cart.js' }),
      fixCart!,
      addTest!,
      runTests!,
      finish!,
      verdictPass!,
    ]);
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', repo, '--json']);
    const last = lastLine(result);
    expect(last, result.stdout.slice(-2000) + result.stderr).toMatchObject({ status: 'pr_open' });
    expect(result.code).toBe(0);
    expect(s.h.server.pending()).toBe(0);

    // Not one byte the model server received holds the canary.
    expect(s.h.server.requests.length).toBeGreaterThan(10);
    for (const [i, r] of s.h.server.requests.entries()) expect(r.rawBody.includes(CANARY), `request #${i}`).toBe(false);
    const wire = s.h.server.requests.map((r) => r.rawBody).join('\n');
    // The refusals reached the model as results it can act on.
    expect(wire).toContain('.env is a secret file and cannot be read (policy: read_secret `.env` deny, from default)');
    expect(wire).toContain('fixtures/token.txt is a secret file and cannot be read (policy: read_secret `fixtures/token.txt` deny, from repository)');
    // The sandboxed command ran: the control file printed, the secret ones did not.
    expect(wire).toContain('control:');
    expect(wire).toContain('export function cartTotal');
    // Nor did the canary reach the event log, the PR or the terminal.
    expect(result.stdout).not.toContain(CANARY);
    expect(result.stderr).not.toContain(CANARY);
    const pr = await runCli(['pr', 'show', String(last.pr), '--json'], s.h.env('openai'));
    expect(pr.code).toBe(0);
    expect(pr.stdout).not.toContain(CANARY);
    // Each refusal is a policy decision on the ledger.
    const ledger = await runCli(['ledger', String(last.run), '--json'], s.h.env('openai'));
    const entries = JSON.parse(ledger.stdout) as Array<{ decision: { action: string; by: string; reason: string } }>;
    const refusals = entries.filter((e) => e.decision.by === 'policy' && e.decision.action.startsWith('refuse'));
    expect(refusals.map((e) => e.decision.action)).toContain('refuse read of .env');
    expect(refusals.find((e) => e.decision.action === 'refuse read of .env')?.decision.reason).toMatch(/read_secret `\.env` deny, from default/);
    expect(ledger.stdout).not.toContain(CANARY);
    expect((await runCli(['ledger', String(last.run), '--verify'], s.h.env('openai'))).code).toBe(0);
    // The file is intact in the user's repository.
    expect(readFileSync(path.join(repo, '.env'), 'utf8')).toContain(CANARY);
  });

  it('reports a repository rule that would loosen the policy as rejected, and applies the user\'s rules', async () => {
    const repo = s.newRepo('demo-cart', {
      '.slipway/config.json': JSON.stringify({
        policy: [
          { kind: 'write_outside', action: 'allow' },
          { kind: 'exec', pattern: 'curl *', action: 'deny' },
        ],
      }),
    });
    s.h.userConfig({ policy: [{ kind: 'merge', pattern: 'release/*', action: 'allow' }] });
    const shown = await runCli(['policy', '--repo', repo, '--json'], s.h.env('openai'));
    expect(shown.code, shown.stderr).toBe(0);
    const policy = JSON.parse(shown.stdout) as {
      rules: Array<{ kind: string; pattern: string; action: string; source: string }>;
      rejected: Array<{ kind: string; pattern: string; action: string; source: string; reason: string }>;
    };
    expect(policy.rejected).toEqual([
      expect.objectContaining({ kind: 'write_outside', pattern: '*', action: 'allow', source: 'repository', reason: expect.stringMatching(/may only tighten/) }),
    ]);
    expect(policy.rules).toContainEqual({ kind: 'exec', pattern: 'curl *', action: 'deny', source: 'repository' });
    expect(policy.rules).toContainEqual({ kind: 'merge', pattern: 'release/*', action: 'allow', source: 'user' });
    expect(policy.rules).toContainEqual({ kind: 'read_secret', pattern: '.env', action: 'deny', source: 'default' });
    expect(policy.rules.some((r) => r.kind === 'write_outside' && r.action === 'allow')).toBe(false);

    const text = await runCli(['policy', '--repo', repo], s.h.env('openai'));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/write_outside\s+\*\s+deny\s+default/);
    expect(text.stdout).toMatch(/Rejected repository rules:\n {2}write_outside `\*` allow: a repository may only tighten/);
  });

  it('stops on a malformed policy rule with the file and key named', async () => {
    const repo = s.newRepo('demo-cart', { '.slipway/config.json': JSON.stringify({ policy: [{ kind: 'sudo', action: 'allow' }] }) });
    const shown = await runCli(['policy', '--repo', repo], s.h.env('openai'));
    expect(shown.code).toBe(1);
    expect(shown.stderr).toMatch(/\.slipway\/config\.json.*policy\.0\.kind/);
  });
});
