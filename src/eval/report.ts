/** The evaluation's outputs: SWE-bench's report.json and predictions.jsonl, and a table a person reads. */
import type { InstanceResult, InstanceStatus } from './result.js';

export interface Prediction {
  instance_id: string;
  model_name_or_path: string;
  model_patch: string;
}

export interface EvalReport {
  model_name_or_path: string;
  total_instances: number;
  submitted_instances: number;
  completed_instances: number;
  resolved_instances: number;
  unresolved_instances: number;
  empty_patch_instances: number;
  error_instances: number;
  /** Resolved over every instance submitted (errors and empty patches count against it). */
  resolution_rate: number;
  submitted_ids: string[];
  completed_ids: string[];
  incomplete_ids: string[];
  resolved_ids: string[];
  unresolved_ids: string[];
  empty_patch_ids: string[];
  error_ids: string[];
  schema_version: 2;
  instances: Record<string, Omit<InstanceResult, 'model_patch'>>;
}

/**
 * `ids` is every instance submitted, in file order; `results` those finished. An instance without a result
 * (the evaluation was stopped) is incomplete: not in any status list, and still in the denominator.
 */
export function buildReport(model: string, ids: readonly string[], results: ReadonlyMap<string, InstanceResult>): EvalReport {
  const by = (status: InstanceStatus) => ids.filter((id) => results.get(id)?.status === status);
  const resolved = by('resolved');
  const unresolved = by('unresolved');
  const instances: EvalReport['instances'] = {};
  for (const id of ids) {
    const result = results.get(id);
    if (!result) continue;
    const { model_patch: _patch, ...rest } = result;
    instances[id] = rest;
  }
  return {
    model_name_or_path: model,
    total_instances: ids.length,
    submitted_instances: ids.length,
    completed_instances: resolved.length + unresolved.length,
    resolved_instances: resolved.length,
    unresolved_instances: unresolved.length,
    empty_patch_instances: by('empty_patch').length,
    error_instances: by('error').length,
    resolution_rate: ids.length ? Math.round((resolved.length / ids.length) * 10_000) / 10_000 : 0,
    submitted_ids: [...ids],
    completed_ids: [...resolved, ...unresolved],
    incomplete_ids: ids.filter((id) => !results.has(id)),
    resolved_ids: resolved,
    unresolved_ids: unresolved,
    empty_patch_ids: by('empty_patch'),
    error_ids: by('error'),
    schema_version: 2,
    instances,
  };
}

/** One prediction per finished instance, in SWE-bench's format (an empty patch for errors and empty patches). */
export function buildPredictions(model: string, ids: readonly string[], results: ReadonlyMap<string, InstanceResult>): Prediction[] {
  return ids.flatMap((id) => {
    const result = results.get(id);
    return result ? [{ instance_id: id, model_name_or_path: model, model_patch: result.model_patch }] : [];
  });
}

function formatTokens(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 1_000) return `${(n / 1_000).toFixed(1)}k`;
  return String(n);
}

function newTestsCell(r: InstanceResult): string {
  if (!r.slipway_tests) return '-';
  const n = r.slipway_tests.new_tests.length;
  if (n === 0) return 'none';
  return `${n} ${r.slipway_tests.proven ? 'proven' : 'not proven'}`;
}

/** A plain-text table of every instance, the totals, and why each instance that is not resolved is not. */
export function formatSummary(report: EvalReport, results: ReadonlyMap<string, InstanceResult>): string {
  const header = ['instance', 'status', 'steps', 'tokens', 'dollars', 'time', 'esc', 'new tests'];
  const rows = report.submitted_ids.map((id) => {
    const r = results.get(id);
    if (!r) return [id, 'incomplete', '', '', '', '', '', ''];
    return [
      id,
      r.status,
      String(r.steps),
      formatTokens(r.tokens.input + r.tokens.output),
      `$${r.dollars.toFixed(2)}`,
      `${r.wall_seconds.toFixed(1)}s`,
      String(r.escalations),
      newTestsCell(r),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const pct = (report.resolution_rate * 100).toFixed(1);
  out.push(
    '',
    `resolved ${report.resolved_instances}/${report.submitted_instances} (${pct}%) · unresolved ${report.unresolved_instances} · empty patch ${report.empty_patch_instances} · errors ${report.error_instances}` +
      (report.incomplete_ids.length ? ` · incomplete ${report.incomplete_ids.length}` : ''),
  );
  const reasons = report.submitted_ids.flatMap((id) => {
    const r = results.get(id);
    return r && r.status !== 'resolved' && r.reason ? [`  ${id}: ${r.reason.replace(/\s+/g, ' ').slice(0, 300)}`] : [];
  });
  if (reasons.length) out.push('', 'not resolved:', ...reasons);
  return out.join('\n');
}
