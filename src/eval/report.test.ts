import { describe, expect, it } from 'vitest';
import { buildPredictions, buildReport, formatSummary } from './report.js';
import { errorResult, type InstanceResult } from './result.js';

function result(id: string, status: InstanceResult['status'], extra: Partial<InstanceResult> = {}): InstanceResult {
  return { ...errorResult(id, status === 'resolved' ? '' : `why ${id}`), status, model_patch: status === 'empty_patch' ? '' : `diff ${id}`, ...extra };
}

describe('buildReport', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  const results = new Map<string, InstanceResult>([
    ['a', { ...result('a', 'resolved', { steps: 4, tokens: { input: 1200, output: 300, cached: 0 }, dollars: 0.0123, wall_seconds: 3.2 }), reason: undefined }],
    ['b', result('b', 'unresolved')],
    ['c', result('c', 'empty_patch')],
    ['d', result('d', 'error')],
    ['e', result('e', 'resolved', { slipway_tests: { proven: true, new_tests: [{ test: 't', file: 'f', failed_before: true, passed_after: true }] } })],
  ]);

  it("has SWE-bench's keys, with every submitted instance in the denominator", () => {
    const report = buildReport('script:x', ids, results);
    expect(report).toMatchObject({
      total_instances: 6,
      submitted_instances: 6,
      completed_instances: 3,
      resolved_instances: 2,
      unresolved_instances: 1,
      empty_patch_instances: 1,
      error_instances: 1,
      resolution_rate: 0.3333,
      resolved_ids: ['a', 'e'],
      unresolved_ids: ['b'],
      empty_patch_ids: ['c'],
      error_ids: ['d'],
      completed_ids: ['a', 'e', 'b'],
      incomplete_ids: ['f'],
      schema_version: 2,
    });
    expect(Object.keys(report.instances)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(report.instances.a).not.toHaveProperty('model_patch');
    expect(report.instances.b).toMatchObject({ status: 'unresolved', reason: 'why b' });
  });

  it('writes one prediction per finished instance', () => {
    expect(buildPredictions('m', ids, results)).toEqual([
      { instance_id: 'a', model_name_or_path: 'm', model_patch: 'diff a' },
      { instance_id: 'b', model_name_or_path: 'm', model_patch: 'diff b' },
      { instance_id: 'c', model_name_or_path: 'm', model_patch: '' },
      { instance_id: 'd', model_name_or_path: 'm', model_patch: 'diff d' },
      { instance_id: 'e', model_name_or_path: 'm', model_patch: 'diff e' },
    ]);
  });

  it('prints a table, the totals and the reasons', () => {
    const text = formatSummary(buildReport('m', ids, results), results);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^instance\s+status\s+steps\s+tokens\s+dollars\s+time\s+esc\s+new tests$/);
    expect(lines[2]).toMatch(/^a\s+resolved\s+4\s+1\.5k\s+\$0\.01\s+3\.2s\s+0\s+-$/);
    expect(text).toMatch(/^e\s+resolved .* 1 proven$/m);
    expect(text).toMatch(/^f\s+incomplete$/m);
    expect(text).toContain('resolved 2/6 (33.3%) · unresolved 1 · empty patch 1 · errors 1 · incomplete 1');
    expect(text).toContain('not resolved:\n  b: why b\n  c: why c\n  d: why d');
  });

  it('gives a rate of 0 for no instances', () => {
    expect(buildReport('m', [], new Map()).resolution_rate).toBe(0);
  });
});
