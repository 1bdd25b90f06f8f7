/**
 * `runEval`: every instance of a JSONL file through Slipway and the harness, up to `concurrency` at a time.
 * Each result is saved as it finishes, so a stopped evaluation rerun with the same `out` picks up where it was.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { entryId, parseInstances, type EvalInstance } from './instances.js';
import { buildPredictions, buildReport, type EvalReport } from './report.js';
import { errorResult, loadResult, saveResult, type InstanceResult } from './result.js';
import { evaluateInstance, type InstanceDeps } from './run-instance.js';

export interface EvalOptions {
  /** Absolute path of the instances file. */
  instancesFile: string;
  /** Absolute output folder: results, patches, transcripts, report. */
  out: string;
  /** `model_name_or_path` in the predictions and report. */
  modelName: string;
  concurrency: number;
  /** Only these instance ids (all when absent). */
  only?: string[];
}

export interface EvalDeps extends InstanceDeps {
  onStart?(id: string): void;
  /** `resumed`: the result was already in `out` and the instance was not run again. */
  onResult?(result: InstanceResult, resumed: boolean): void;
}

export interface EvalOutcome {
  report: EvalReport;
  results: Map<string, InstanceResult>;
  /** Instances whose results were found in `out` and kept. */
  resumed: string[];
  /** True when the evaluation was stopped before every instance finished. */
  stopped: boolean;
}

/** The evaluation cannot start: the message says what is wrong with the input. */
export class EvalInputError extends Error {
  override readonly name = 'EvalInputError';
}

export const REPORT_FILE = 'report.json';
export const PREDICTIONS_FILE = 'predictions.jsonl';

export async function runEval(opts: EvalOptions, deps: EvalDeps): Promise<EvalOutcome> {
  const text = await readFile(opts.instancesFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new EvalInputError(
      error.code === 'ENOENT' ? `the instances file ${opts.instancesFile} does not exist` : `cannot read ${opts.instancesFile}: ${error.message}`,
    );
  });
  let entries = parseInstances(text);
  if (entries.length === 0) throw new EvalInputError(`${opts.instancesFile} holds no instances (one JSON object a line)`);
  if (opts.only) {
    const known = new Set(entries.map(entryId));
    const unknown = opts.only.filter((id) => !known.has(id));
    if (unknown.length) throw new EvalInputError(`no instance ${unknown.join(', ')} in ${opts.instancesFile}`);
    const wanted = new Set(opts.only);
    entries = entries.filter((e) => wanted.has(entryId(e)));
  }
  await mkdir(opts.out, { recursive: true });

  const ids = entries.map(entryId);
  const results = new Map<string, InstanceResult>();
  const resumed: string[] = [];
  const pending: EvalInstance[] = [];
  for (const entry of entries) {
    if (entry.kind === 'invalid') {
      // Recomputed from the file each time: nothing ran, so there is nothing to resume.
      const result = errorResult(entry.instance_id, entry.reason);
      results.set(entry.instance_id, result);
      deps.onResult?.(result, false);
      continue;
    }
    const saved = await loadResult(opts.out, entry.instance.instance_id);
    if (saved) {
      results.set(saved.instance_id, saved);
      resumed.push(saved.instance_id);
      deps.onResult?.(saved, true);
    } else {
      pending.push(entry.instance);
    }
  }

  let stopped = false;
  const context = { ...deps, out: opts.out, instancesDir: path.dirname(opts.instancesFile) };
  const worker = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      if (deps.signal.aborted) {
        stopped = true;
        return;
      }
      deps.onStart?.(next.instance_id);
      const result = await evaluateInstance(next, context);
      if (!result) {
        stopped = true;
        continue;
      }
      await saveResult(opts.out, result);
      results.set(result.instance_id, result);
      deps.onResult?.(result, false);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, pending.length)) }, worker));
  if (deps.signal.aborted) stopped = true;

  const report = buildReport(opts.modelName, ids, results);
  const predictions = buildPredictions(opts.modelName, ids, results);
  await writeAtomically(path.join(opts.out, PREDICTIONS_FILE), predictions.map((p) => JSON.stringify(p)).join('\n') + (predictions.length ? '\n' : ''));
  await writeAtomically(path.join(opts.out, REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
  return { report, results, resumed, stopped };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
