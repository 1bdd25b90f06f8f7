/** Bad input gets a clear message, the right exit code, and nothing written to the user's branches. */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { git, removeDir, repoState, tempDir } from '../../support/repos.js';
import { demoTurns, lastLine, onlyJson, useScenario } from './scenario.js';

const s = useScenario('demo-cart');

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function expectFailed(result: Awaited<ReturnType<typeof runCli>>, pattern: RegExp): void {
  expect(result.code, result.stdout + result.stderr).toBe(1);
  expect(onlyJson(result)).toBe(true);
  const last = lastLine(result);
  expect(last).toMatchObject({ status: 'failed', pr: null });
  expect(String(last.run)).toMatch(/^r-/);
  expect(String(last.error)).toMatch(pattern);
}

describe('bad input', () => {
  it('a folder that is not a git repository', async () => {
    const dir = tempDir();
    const result = await s.h.run('openai', ['run', 'do something', '--repo', dir, '--json']);
    expectFailed(result, /not a git repository/i);
    removeDir(dir);
  });

  it('a path that does not exist', async () => {
    const result = await s.h.run('openai', ['run', 'do something', '--repo', path.join(s.repo, 'missing'), '--json']);
    expectFailed(result, /does not exist|no such/i);
  });

  it('an unknown base branch', async () => {
    const before = repoState(s.repo);
    const result = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--base', 'nope', '--json']);
    expectFailed(result, /nope/);
    expect(String(lastLine(result).error)).toMatch(/main/); // names the branches that exist
    expect(repoState(s.repo)).toEqual(before);
  });

  it('an empty goal and an unknown flag are usage errors', async () => {
    const empty = await s.h.run('openai', ['run', '  ', '--repo', s.repo, '--json']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/goal is empty/);
    const flag = await s.h.run('openai', ['run', 'x', '--repo', s.repo, '--frobnicate']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option '--frobnicate'/);
  });

  it('a missing API key names the variable', async () => {
    const before = repoState(s.repo);
    const result = await runCli(['run', 'do something', '--repo', s.repo, '--json', '--model', 'anthropic/claude-sonnet-4-5'], {
      ...s.h.env('anthropic'),
      ANTHROPIC_API_KEY: '',
    });
    expectFailed(result, /ANTHROPIC_API_KEY/);
    expect(repoState(s.repo)).toEqual(before);
  });

  it('an unknown model provider lists the valid forms', async () => {
    const result = await runCli(['run', 'do something', '--repo', s.repo, '--json', '--model', 'gemini/pro'], s.h.env('openai'));
    expectFailed(result, /anthropic\/<model>/);
  });

  it('an unreachable base URL is given up on quickly and named', async () => {
    s.h.userConfig({ modelGiveUpSeconds: 2 });
    const before = repoState(s.repo);
    const port = await closedPort();
    const started = Date.now();
    const result = await runCli(['run', 'do something', '--repo', s.repo, '--json', '--model', 'openai/gpt-5'], {
      ...s.h.env('openai'),
      OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
    });
    expectFailed(result, new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(repoState(s.repo)).toEqual(before);
  });

  it('an unknown model', async () => {
    s.h.server.fail({ status: 404, message: 'model not found' });
    const result = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json']);
    expectFailed(result, /gpt-5/);
    expect(String(lastLine(result).error)).toMatch(/model/i);
  });

  it('a spend-limit 429 is not retried', async () => {
    s.h.server.fail({ status: 429, code: 'insufficient_quota', message: 'You exceeded your current quota' });
    const result = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json']);
    expectFailed(result, /quota|spend|billing/i);
    expect(s.h.server.requests).toHaveLength(1);
  });

  it('a model that returns garbage', async () => {
    s.h.server.garbage().garbage().garbage().garbage();
    const result = await s.h.run('anthropic', ['run', 'do something', '--repo', s.repo, '--json']);
    expectFailed(result, /.+/);
    expect(String(lastLine(result).error)).not.toMatch(/Unexpected error/);
  });

  it('a malformed script file', async () => {
    const script = path.join(s.h.home, 'bad-script.json');
    mkdirSync(s.h.home, { recursive: true });
    writeFileSync(script, '{"turns": [{"toolCalls": [{"name": 3}]}]}');
    const result = await runCli(['run', 'do something', '--repo', s.repo, '--json', '--model', `script:${script}`], s.h.env('openai'));
    expectFailed(result, /bad-script\.json/);
  });

  it('a SLIPWAY_HOME that is a file, and a store file that is not a database, end with a status line and leave no clone', async () => {
    const before = repoState(s.repo);
    const file = path.join(tempDir(), 'home-is-a-file');
    writeFileSync(file, 'not a folder\n');
    const onFile = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json'], { SLIPWAY_HOME: file });
    expectFailed(onFile, /cannot use .*home-is-a-file.*SLIPWAY_HOME.*a file is in the way.*Set SLIPWAY_HOME/);
    const human = await s.h.run('openai', ['run', 'do something', '--repo', s.repo], { SLIPWAY_HOME: file });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/could not be recorded/);
    removeDir(path.dirname(file));

    mkdirSync(s.h.home, { recursive: true });
    writeFileSync(path.join(s.h.home, 'slipway.db'), 'these are not the bytes of a database');
    const notDb = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json']);
    expectFailed(notDb, /slipway\.db is not a SQLite database.*Move it aside/);
    // The clone started ahead of the store is given back; the user's repository is as it was.
    expect(existsSync(path.join(s.h.home, 'workspaces')) ? readdirSync(path.join(s.h.home, 'workspaces')) : []).toEqual([]);
    expect(repoState(s.repo)).toEqual(before);
  });

  it('a malformed config file names the file and the key', async () => {
    s.h.userConfig({ budgets: { steps: 'many' } });
    const result = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json']);
    expectFailed(result, /config\.json.*budgets\.steps/);
  });

  it('a repository config is read from the base commit', async () => {
    mkdirSync(path.join(s.repo, '.slipway'), { recursive: true });
    writeFileSync(path.join(s.repo, '.slipway', 'config.json'), '{"verifyRounds": "x"}');
    // Uncommitted: not on the base commit, so it is not read.
    const ok = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json', '--max-steps', '1']);
    expect(String(lastLine(ok).error ?? '')).not.toMatch(/verifyRounds/);
    git(s.repo, 'add', '-A');
    git(s.repo, '-c', 'user.name=T', '-c', 'user.email=t@t', 'commit', '-qm', 'bad config');
    const bad = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json']);
    expectFailed(bad, /\.slipway\/config\.json.*verifyRounds/);
  });

  it('a missing bubblewrap: commands are refused with how to install it, and --no-sandbox is loud and recorded', async () => {
    // A PATH with git and ripgrep but no bwrap.
    const bin = tempDir();
    for (const tool of ['git', 'rg']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(bin, tool));
    const before = repoState(s.repo);
    const result = await s.h.run('openai', ['run', 'do something', '--repo', s.repo, '--json'], { PATH: bin });
    expectFailed(result, /bubblewrap.*apt-get install bubblewrap/s);
    expect(repoState(s.repo)).toEqual(before);
    expect(s.h.server.requests).toHaveLength(0);

    s.h.server.turns(demoTurns());
    const loud = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json', '--no-sandbox'], { PATH: `${bin}:${path.dirname(process.execPath)}` });
    expect(loud.stderr).toMatch(/--no-sandbox/);
    const last = lastLine(loud);
    expect(last, loud.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    const pr = JSON.parse((await runCli(['pr', 'show', String(last.pr), '--json'], s.h.env('openai'))).stdout) as { decisions: Array<{ by: string; action: string; autonomous: boolean }> };
    expect(pr.decisions[0]).toMatchObject({ by: 'person', action: 'run commands without a sandbox', autonomous: false });
    removeDir(bin);
  });
});
