import { describe, expect, it } from 'vitest';
import { decideResolution, describeUnresolved } from './decide.js';

describe('decideResolution', () => {
  it('resolves when every FAIL_TO_PASS and PASS_TO_PASS test passes', () => {
    const r = decideResolution(
      [
        { id: 'a', status: 'passed' },
        { id: 'b', status: 'passed' },
        { id: 'extra', status: 'failed' },
      ],
      ['a'],
      ['b'],
    );
    expect(r).toEqual({ resolved: true, fail_to_pass: { passed: ['a'], failed: [] }, pass_to_pass: { passed: ['b'], failed: [] } });
  });

  it('counts missing, skipped and failed tests as failed, and a repeated id that failed once as failed', () => {
    const r = decideResolution(
      [
        { id: 'a', status: 'skipped' },
        { id: 'b', status: 'failed' },
        { id: 'b', status: 'passed' },
      ],
      ['a', 'gone'],
      ['b'],
    );
    expect(r.resolved).toBe(false);
    expect(r.fail_to_pass.failed).toEqual(['a', 'gone']);
    expect(r.pass_to_pass.failed).toEqual(['b']);
    expect(describeUnresolved(r, 'timed out')).toBe('FAIL_TO_PASS not passing: a, gone; PASS_TO_PASS broken: b; timed out');
  });

  it('is not resolved when only PASS_TO_PASS breaks', () => {
    const r = decideResolution([{ id: 'TestX/sub', status: 'passed' }], ['TestX/sub'], ['TestY']);
    expect(r.resolved).toBe(false);
    expect(describeUnresolved(r, undefined)).toBe('PASS_TO_PASS broken: TestY');
  });
});
