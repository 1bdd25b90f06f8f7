/** Secrets in the environment and in repository files never reach the model, the store or the PR body. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { runCli } from '../../support/cli.js';
import { demoTurns, lastLine, useScenario } from '../core/scenario.js';

const CANARY = 'canary-7f3a9c2e51d8b4';
const AWS_SHAPED = 'AKIAQWERTYUIOPASDFGH';
const s = useScenario('demo-cart', { 'deploy/settings.txt': `endpoint=https://example.invalid\ntoken=${CANARY}\naws=${AWS_SHAPED}\n` });

/** Every byte under a folder, as text: the SQLite file, its WAL, recordings. */
function allBytes(dir: string): string {
  let out = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += readFileSync(path.join(entry.parentPath, entry.name)).toString('latin1');
  }
  return out;
}

it('redacts secret values and credential shapes everywhere', async () => {
  const turns = demoTurns();
  const readSecret: ScriptTurn = { toolCalls: [{ name: 'read_file', input: { path: 'deploy/settings.txt' } }] };
  const echoSecret: ScriptTurn = { toolCalls: [{ name: 'shell', input: { command: 'cat deploy/settings.txt; env' } }] };
  s.h.server.turns([turns[0]!, turns[1]!, readSecret, echoSecret, ...turns.slice(2)]);
  const record = path.join(s.h.home, 'recording.jsonl');
  const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json', '--record', record], {
    DEPLOY_TOKEN: CANARY,
  });
  const last = lastLine(result);
  expect(last, result.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
  // Positive control: the file really holds the canary, and the tool really read it.
  expect(readFileSync(path.join(s.repo, 'deploy/settings.txt'), 'utf8')).toContain(CANARY);
  const sent = s.h.server.requests.map((r) => r.rawBody).join('\n');
  expect(sent).toContain('deploy/settings.txt');
  expect(sent).toContain('[REDACTED');
  // Nowhere: the model's wire, stdout, the store, the recording, the PR body.
  expect(sent).not.toContain(CANARY);
  expect(sent).not.toContain(AWS_SHAPED);
  expect(result.stdout + result.stderr).not.toContain(CANARY);
  // What Slipway keeps: the finished run's clone (the repository's files, the secret's among them) is moved
  // aside and deleted by a process of its own; wait for it.
  const trash = path.join(s.h.home, 'workspaces', '.trash');
  for (let i = 0; i < 200 && existsSync(trash); i++) await new Promise((r) => setTimeout(r, 50));
  expect(existsSync(trash)).toBe(false);
  const stored = allBytes(s.h.home);
  expect(stored).toContain('deploy/settings.txt');
  expect(stored).not.toContain(CANARY);
  expect(stored).not.toContain(AWS_SHAPED);
  const pr = await runCli(['pr', 'show', String(last.pr), '--json'], s.h.env('openai'));
  expect(pr.stdout).not.toContain(CANARY);
});
