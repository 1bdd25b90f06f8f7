/**
 * `slipway eval` end to end with the built CLI: real repositories, the real sandbox, per-instance scripted
 * models. JavaScript instances that resolve and that do not, bad instances, then a resumed run.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalReport } from '../../../src/eval/report.js';
import type { InstanceResult } from '../../../src/eval/result.js';
import { cliEnv, runCli, type CliResult } from '../../support/cli.js';
import { removeDir, tempDir } from '../../support/repos.js';
import { CALC_TEST, CALC_TEST_FIXED, fileDiff, jsRepo, jsScripts, writeScript } from './fixtures.js';

let work: string;
let home: string;
let out: string;
let scripts: string;
let instancesFile: string;
let first: CliResult;
const cleanup: string[] = [];

const read = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

beforeAll(async () => {
  work = tempDir('slipway-eval-');
  home = path.join(work, 'home');
  out = path.join(work, 'out');
  scripts = path.join(work, 'scripts');
  const js = jsRepo();
  cleanup.push(js.dir);

  const jsInstance = (id: string) => ({
    instance_id: id,
    // A path relative to the instances file.
    repo: path.relative(work, js.dir),
    base_commit: js.commit,
    problem_statement: 'average() gives the wrong result: average([1, 2, 3]) should be 2.',
    test_patch: fileDiff('test/calc.test.js', CALC_TEST, CALC_TEST_FIXED),
    // As SWE-bench ships them: JSON strings of lists.
    FAIL_TO_PASS: JSON.stringify(['average > of three values']),
    PASS_TO_PASS: JSON.stringify(['adds numbers']),
  });
  const lines = [
    JSON.stringify(jsInstance('calc-fixed')),
    JSON.stringify(jsInstance('calc-tests-only')),
    '{"instance_id": "broken", "repo": ',
    JSON.stringify({ ...jsInstance('calc-no-f2p'), FAIL_TO_PASS: '[]' }),
    JSON.stringify(jsInstance('calc-breaks-add')),
    JSON.stringify({ ...jsInstance('calc-missing-commit'), base_commit: 'deadbeef'.repeat(5) }),
    JSON.stringify({ ...jsInstance('calc-unreachable'), repo: path.join(work, 'no-such-repo') }),
  ];
  instancesFile = path.join(work, 'instances.jsonl');
  writeFileSync(instancesFile, `${lines.join('\n')}\n`);
  for (const [id, turns] of Object.entries(jsScripts)) writeScript(scripts, id, turns);

  first = await runCli(
    ['eval', instancesFile, '--model', `script:${scripts}`, '--out', out, '--concurrency', '2', '--verify-rounds', '1'],
    cliEnv(home),
    { timeoutMs: 110_000 },
  );
}, 120_000);

afterAll(() => {
  for (const dir of [work, ...cleanup]) if (dir) removeDir(dir);
});

describe('slipway eval', () => {
  it('completes with exit 0 and writes a SWE-bench report', () => {
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const report = read<EvalReport>(path.join(out, 'report.json'));
    expect(report).toMatchObject({
      model_name_or_path: `script:${scripts}`,
      total_instances: 7,
      submitted_instances: 7,
      completed_instances: 3,
      resolved_instances: 1,
      unresolved_instances: 2,
      error_instances: 4,
      empty_patch_instances: 0,
      resolution_rate: 0.1429,
      empty_patch_ids: [],
      incomplete_ids: [],
    });
    expect(report.resolved_ids).toEqual(['calc-fixed']);
    expect(report.unresolved_ids).toEqual(['calc-tests-only', 'calc-breaks-add']);
    expect(report.error_ids).toEqual(['line-3', 'calc-no-f2p', 'calc-missing-commit', 'calc-unreachable']);
  });

  it('resolves a correct fix and records the run and Slipway’s own proven test', () => {
    const r = read<InstanceResult>(path.join(out, 'calc-fixed', 'result.json'));
    expect(r).toMatchObject({ status: 'resolved', run: { status: 'pr_open' }, steps: 5, escalations: 0 });
    expect(r.reason).toBeUndefined();
    expect(r.tokens.input).toBeGreaterThan(0);
    expect(r.slipway_tests).toEqual({
      proven: true,
      new_tests: [{ test: 'averages two values', file: 'test/calc.test.js', failed_before: true, passed_after: true }],
    });
    expect(r.tests).toMatchObject({
      command: 'npm test',
      fail_to_pass: { passed: ['average > of three values'], failed: [] },
      pass_to_pass: { passed: ['adds numbers'], failed: [] },
    });
    // The patch, the transcript and the harness's test output are kept; the work folders are not.
    const patch = readFileSync(path.join(out, 'calc-fixed', 'model.patch'), 'utf8');
    expect(patch).toContain('+  return values.reduce((sum, v) => sum + v, 0) / values.length;');
    expect(patch).toContain("+test('averages two values'");
    const events = readFileSync(path.join(out, 'calc-fixed', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events[0]).toMatchObject({ type: 'run_started' });
    expect(events.at(-1)).toMatchObject({ type: 'pr_opened' });
    expect(readFileSync(path.join(out, 'calc-fixed', 'test-output.txt'), 'utf8')).toContain('of three values');
    expect(existsSync(path.join(out, 'calc-fixed', 'work'))).toBe(false);
    // The agent never saw the test patch.
    expect(readFileSync(path.join(out, 'calc-fixed', 'events.jsonl'), 'utf8')).not.toContain('of three values');
  });

  it('does not resolve a change to test files only, nor one that breaks a PASS_TO_PASS test, even when the run escalated', () => {
    const testsOnly = read<InstanceResult>(path.join(out, 'calc-tests-only', 'result.json'));
    expect(testsOnly).toMatchObject({ status: 'unresolved', run: { status: 'escalated' }, escalations: 1, slipway_tests: null });
    expect(testsOnly.model_patch).toContain('test/calc.test.js');
    expect(testsOnly.reason).toBe('FAIL_TO_PASS not passing: average > of three values');

    const breaks = read<InstanceResult>(path.join(out, 'calc-breaks-add', 'result.json'));
    expect(breaks).toMatchObject({ status: 'unresolved', run: { status: 'escalated' }, escalations: 1 });
    expect(breaks.tests).toMatchObject({ fail_to_pass: { failed: [] }, pass_to_pass: { failed: ['adds numbers'] } });
    expect(breaks.reason).toBe('PASS_TO_PASS broken: adds numbers');
  });

  it('turns bad instances into errors with reasons while the others go on', () => {
    const report = read<EvalReport>(path.join(out, 'report.json'));
    const reason = (id: string) => report.instances[id]?.reason;
    expect(reason('line-3')).toMatch(/^line 3 is not valid JSON/);
    expect(reason('calc-no-f2p')).toMatch(/FAIL_TO_PASS is empty/);
    expect(reason('calc-missing-commit')).toMatch(/^base_commit deadbeef\w+ is not a commit in /);
    expect(reason('calc-unreachable')).toMatch(/^could not clone .*no-such-repo/);
  });

  it('writes predictions and prints a summary table', () => {
    const predictions = readFileSync(path.join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(predictions).toHaveLength(7);
    expect(predictions.find((p) => p.instance_id === 'calc-fixed')).toMatchObject({ model_name_or_path: `script:${scripts}`, model_patch: expect.stringContaining('diff --git') });
    expect(predictions.find((p) => p.instance_id === 'line-3')?.model_patch).toBe('');
    expect(first.stdout).toMatch(/^instance\s+status\s+steps\s+tokens\s+dollars\s+time\s+esc\s+new tests$/m);
    expect(first.stdout).toMatch(/^calc-fixed\s+resolved\s.*1 proven$/m);
    expect(first.stdout).toContain('resolved 1/7 (14.3%) · unresolved 2 · empty patch 0 · errors 4');
    expect(first.stdout).toContain(`report: ${path.join(out, 'report.json')}`);
  });

  it('resumes with the same --out without redoing finished instances', async () => {
    const finished = ['calc-fixed', 'calc-tests-only', 'calc-missing-commit'];
    const mtimes = Object.fromEntries(finished.map((id) => [id, statSync(path.join(out, id, 'result.json')).mtimeMs]));
    // As if the first evaluation had been stopped during calc-breaks-add.
    rmSync(path.join(out, 'calc-breaks-add', 'result.json'));
    // Without their scripts, any finished instance run again would turn into an error.
    for (const id of finished) rmSync(path.join(scripts, `${id}.json`), { force: true });
    const second = await runCli(['eval', instancesFile, '--model', `script:${scripts}`, '--out', out, '--verify-rounds', '1'], cliEnv(home), { timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/▶ calc-breaks-add/);
    expect(second.stderr).not.toMatch(/▶ calc-fixed/);
    expect(second.stderr).toMatch(/calc-fixed resolved \(already done, kept\)/);
    for (const id of finished) expect(statSync(path.join(out, id, 'result.json')).mtimeMs).toBe(mtimes[id]);
    const report = read<EvalReport>(path.join(out, 'report.json'));
    expect(report.resolved_ids).toEqual(['calc-fixed']);
    expect(report.unresolved_ids).toEqual(['calc-tests-only', 'calc-breaks-add']);
  }, 120_000);

  it('says what is wrong with the input', async () => {
    const env = cliEnv(home);
    const missing = await runCli(['eval', path.join(work, 'nope.jsonl'), '--model', `script:${scripts}`, '--out', path.join(work, 'o2')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the instances file .*nope\.jsonl does not exist/);
    expect(existsSync(path.join(work, 'o2'))).toBe(false);
    const unknown = await runCli(['eval', instancesFile, '--model', `script:${scripts}`, '--out', path.join(work, 'o3'), '--instances', 'calc-fixed,nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no instance nope in /);
    const usage = await runCli(['eval', instancesFile, '--concurrency', 'zero'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--concurrency must be a positive whole number/);
  });
});
