/** eval/: SWE-bench-format evaluation of Slipway (`slipway eval`). */
export { runEval, EvalInputError, REPORT_FILE, PREDICTIONS_FILE, type EvalDeps, type EvalOptions, type EvalOutcome } from './run-eval.js';
export { createModelFactory, type ModelFactory, type ModelFactoryOptions } from './model-factory.js';
export { parseInstances, parseInstanceLine, type EvalInstance, type InstanceEntry } from './instances.js';
export { buildReport, buildPredictions, formatSummary, type EvalReport, type Prediction } from './report.js';
export { decideResolution, type Resolution } from './decide.js';
export type { InstanceResult, InstanceStatus } from './result.js';
export type { RetryNotice } from './run-instance.js';
