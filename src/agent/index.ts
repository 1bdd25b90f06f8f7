export { runGoal, type RunDeps, type RunOutcome, type RunRequest } from './run-goal.js';
export { Escalation, RunAborted, RunFailure } from './errors.js';
