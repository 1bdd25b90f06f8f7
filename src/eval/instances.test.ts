import { describe, expect, it } from 'vitest';
import { parseInstanceLine, parseInstances } from './instances.js';

const testPatch = 'diff --git a/t.py b/t.py\n--- a/t.py\n+++ b/t.py\n@@ -1 +1,2 @@\n x\n+y\n';
const base = {
  instance_id: 'owner__repo-1',
  repo: 'owner/repo',
  base_commit: 'ABCDEF0123',
  problem_statement: 'It breaks.',
  test_patch: testPatch,
  FAIL_TO_PASS: ['t.py::test_a'],
  PASS_TO_PASS: ['t.py::test_b'],
};
const line = (fields: Record<string, unknown>) => JSON.stringify({ ...base, ...fields });

describe('parseInstanceLine', () => {
  it('takes test lists as lists or as JSON strings of lists, as SWE-bench ships them', () => {
    const asList = parseInstanceLine(line({}), 1);
    const asString = parseInstanceLine(line({ FAIL_TO_PASS: '["t.py::test_a"]', PASS_TO_PASS: '[]' }), 1);
    expect(asList).toMatchObject({ kind: 'instance', instance: { FAIL_TO_PASS: ['t.py::test_a'], PASS_TO_PASS: ['t.py::test_b'], base_commit: 'abcdef0123' } });
    expect(asString).toMatchObject({ kind: 'instance', instance: { FAIL_TO_PASS: ['t.py::test_a'], PASS_TO_PASS: [] } });
  });

  it('keeps the optional fields and drops blank ones', () => {
    const entry = parseInstanceLine(line({ test_cmd: 'pytest -rA', setup_cmd: '', patch: null }), 1);
    expect(entry.kind).toBe('instance');
    if (entry.kind !== 'instance') return;
    expect(entry.instance.test_cmd).toBe('pytest -rA');
    expect('setup_cmd' in entry.instance).toBe(false);
    expect('patch' in entry.instance).toBe(false);
  });

  it('makes an empty FAIL_TO_PASS an error that names the instance', () => {
    expect(parseInstanceLine(line({ FAIL_TO_PASS: '[]' }), 3)).toEqual({
      kind: 'invalid',
      line: 3,
      instance_id: 'owner__repo-1',
      reason: 'line 3: FAIL_TO_PASS is empty: an instance needs at least one test that the fix makes pass',
    });
  });

  it('says what is wrong with a malformed line', () => {
    expect(parseInstanceLine('{"instance_id": "x", ', 2)).toMatchObject({ kind: 'invalid', instance_id: 'line-2', reason: expect.stringMatching(/^line 2 is not valid JSON/) });
    expect(parseInstanceLine('[1, 2]', 4)).toMatchObject({ kind: 'invalid', reason: 'line 4 is not a JSON object' });
    const missing = parseInstanceLine(JSON.stringify({ instance_id: 'x-1', repo: 'r' }), 5);
    expect(missing).toMatchObject({ kind: 'invalid', instance_id: 'x-1' });
    expect(missing.kind === 'invalid' && missing.reason).toMatch(/base_commit is missing; problem_statement is missing; test_patch is missing/);
    expect(parseInstanceLine(line({ FAIL_TO_PASS: 'not json' }), 1)).toMatchObject({ reason: expect.stringMatching(/FAIL_TO_PASS is a string that is not a JSON list/) });
    expect(parseInstanceLine(line({ base_commit: 'main' }), 1)).toMatchObject({ reason: expect.stringMatching(/base_commit is not a commit id/) });
    expect(parseInstanceLine(line({ test_patch: 'just words' }), 1)).toMatchObject({ reason: expect.stringMatching(/test_patch is not a unified diff/) });
  });

  it('refuses instance ids that could not name a folder', () => {
    const entry = parseInstanceLine(line({ instance_id: '../escape' }), 7);
    expect(entry).toMatchObject({ kind: 'invalid', instance_id: 'line-7', reason: expect.stringMatching(/instance_id may only hold/) });
  });
});

describe('parseInstances', () => {
  it('skips blank lines, numbers lines from 1 and makes a repeated id an error', () => {
    const entries = parseInstances(`${line({})}\n\n${line({})}\n${line({ instance_id: 'other' })}\n`);
    expect(entries.map((e) => [e.kind, e.line])).toEqual([
      ['instance', 1],
      ['invalid', 3],
      ['instance', 4],
    ]);
    expect(entries[1]).toMatchObject({ instance_id: 'line-3', reason: 'line 3: instance_id owner__repo-1 was already used on an earlier line' });
  });
});
