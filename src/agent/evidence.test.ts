import { describe, expect, it } from 'vitest';
import type { TestCaseResult, TestRunResult } from '../protocol/index.js';
import { judge } from './evidence.js';

function run(tests: Array<[string, TestCaseResult['status']]>, exitCode = 0, parsed = true): TestRunResult {
  const list = tests.map(([id, status]) => ({ id, status }));
  const count = (s: string) => list.filter((t) => t.status === s).length;
  return {
    command: 'npm test',
    exitCode,
    timedOut: false,
    durationMs: 1,
    counts: parsed ? { passed: count('passed'), failed: count('failed'), skipped: count('skipped') } : null,
    ...(parsed ? {} : { reason: 'no summary line' }),
    tests: parsed ? list : [],
    output: '',
  };
}

describe('judge', () => {
  const baseline = run([['a', 'passed'], ['b', 'passed']]);

  it('accepts a new test that fails on the base commit and passes with the change', () => {
    const j = judge({
      command: 'npm test',
      baseline,
      proof: run([['a', 'passed'], ['b', 'passed'], ['new', 'failed']], 1),
      after: run([['a', 'passed'], ['b', 'passed'], ['new', 'passed']]),
      changedTestFiles: ['test/x.test.js'],
    });
    expect(j.problems).toEqual([]);
    expect(j.evidence.newTests).toEqual([{ file: 'test/x.test.js', test: 'new', failedBefore: true, passedAfter: true }]);
    expect(j.evidence.before).toEqual({ passed: 2, failed: 0, skipped: 0 });
  });

  it('rejects a new test that already passes on the base commit', () => {
    const j = judge({
      command: 'npm test',
      baseline,
      proof: run([['a', 'passed'], ['b', 'passed'], ['new', 'passed']]),
      after: run([['a', 'passed'], ['b', 'passed'], ['new', 'passed']]),
      changedTestFiles: ['test/x.test.js'],
    });
    expect(j.problems.join()).toMatch(/"new" passes on the base commit .* does not catch the bug/);
  });

  it('counts a changed existing test that now fails on the base commit as proven', () => {
    const j = judge({
      command: 'npm test',
      baseline,
      proof: run([['a', 'failed'], ['b', 'passed']], 1),
      after: run([['a', 'passed'], ['b', 'passed']]),
      changedTestFiles: ['test/a.test.js'],
    });
    expect(j.problems).toEqual([]);
    expect(j.evidence.newTests.map((t) => t.test)).toEqual(['a']);
  });

  it('reports tests that passed before and fail now, and missing ones', () => {
    const j = judge({
      command: 'npm test',
      baseline,
      proof: run([['a', 'passed'], ['b', 'passed'], ['new', 'failed']], 1),
      after: run([['b', 'failed'], ['new', 'passed']], 1),
      changedTestFiles: ['t.js'],
    });
    expect(j.evidence.newFailures).toEqual(['a', 'b']);
    expect(j.problems[0]).toMatch(/passed before your change and fail now: a, b/);
  });

  it('falls back to exit codes when output cannot be parsed, and never makes up counts', () => {
    const j = judge({ command: 'make test', baseline: run([], 0, false), proof: null, after: run([], 2, false), changedTestFiles: [], noTestReason: 'refactor' });
    expect(j.evidence.before).toBeNull();
    expect(j.evidence.beforeReason).toBe('no summary line');
    expect(j.evidence.after).toBeNull();
    expect(j.evidence.newFailures[0]).toMatch(/exited 0 before the change and 2 after/);
  });

  it('asks for a test, or a reason when none fits', () => {
    const noTest = judge({ command: 'npm test', baseline, proof: null, after: baseline, changedTestFiles: [] });
    expect(noTest.problems.join()).toMatch(/No test was added or changed/);
    const reasoned = judge({ command: 'npm test', baseline, proof: null, after: baseline, changedTestFiles: [], noTestReason: 'pure refactor' });
    expect(reasoned.problems).toEqual([]);
    expect(reasoned.evidence.noTestReason).toBe('pure refactor');
  });
});
