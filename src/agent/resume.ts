/** Going on with a run: when it may, and what the resumed coder is told. */
import os from 'node:os';
import type { RunRecord } from '../protocol/index.js';
import { TERMINAL_STATUSES } from '../protocol/index.js';
import type { ProcessRef } from './owner.js';
import type { RunRequest } from './run-goal.js';

/** Why a run cannot go on from the state it is in (message and what to do), or undefined when it can. */
export function resumeRefusal(
  runId: string,
  previous: RunRecord | undefined,
  resume: NonNullable<RunRequest['resume']>,
  /** The process that holds the run now, if one does. */
  owner: (ProcessRef & { file: string }) | null,
): { message: string; hint: string } | undefined {
  if (owner) {
    return {
      message: `Run ${runId} is still running (process ${owner.pid}${owner.host === os.hostname() ? '' : ` on ${owner.host}`}).`,
      hint: `Watch it with slipway log ${runId}, or stop it (Ctrl-C in its terminal) before resuming it. If process ${owner.pid} is not Slipway (the run crashed and the id was reused), remove ${owner.file}.`,
    };
  }
  // A run whose status says it is working, with no process holding it, crashed: it may go on.
  const crashed = previous !== undefined && !TERMINAL_STATUSES.includes(previous.status);
  const resumable = ['escalated', 'stopped', 'failed', ...(resume.gate ? ['awaiting_approval'] : []), ...(resume.revise ? ['pr_open'] : [])];
  if (!previous?.branch || (!crashed && !resumable.includes(previous.status))) {
    return {
      message: `Run ${runId} cannot be resumed: it is ${previous ? previous.status : 'unknown'}${previous && !previous.branch ? ' and never got a branch' : ''}.`,
      hint:
        previous?.status === 'awaiting_approval'
        ? 'It waits at a gate: answer it with slipway approve <gate> or slipway reject <gate> --reason "..." (slipway gates lists them).'
        : previous?.status === 'pr_open'
          ? `Its pull request is open: ask for changes with slipway pr revise ${previous.prId ?? '<pr>'} "..."`
          : 'Only a stopped, failed or escalated run that got as far as its clone can go on; start a new run with slipway run.',
    };
  }
  return undefined;
}

/** The first line a resumed coder reads: why the run stopped. */
export function resumedBecause(previous: RunRecord, resume: NonNullable<RunRequest['resume']>): string {
  if (resume.revise) return `Your pull request ${resume.revise.pr} is open for review, and a reviewer asked for changes.`;
  if (previous.status === 'awaiting_approval') return 'You are resuming this run after it waited for a person\'s approval.';
  if (!TERMINAL_STATUSES.includes(previous.status)) {
    return `You are resuming this run after it was cut off while ${previous.status} (the process ended without saying so). A step under way then may have changed files without its result reaching you: look at the work tree before you go on.`;
  }
  if (previous.status === 'escalated') return `You are resuming this run after it escalated with: ${previous.question ?? 'a question'}.`;
  return `You are resuming this run after it was ${previous.status}.`;
}

/** What the person said, for a resumed coder. */
export function resumeNote(resume: NonNullable<RunRequest['resume']>): string {
  if (resume.revise) return `The reviewer's feedback: ${resume.revise.feedback}\nMake these changes on this branch, run the tests, and call finish.`;
  const gate = resume.gate;
  if (gate && gate.action !== 'plan') {
    const what = `${gate.action === 'exec' ? 'run' : gate.action} ${gate.subject}`;
    if (gate.status === 'rejected') return `A person refused your request to ${what}. Their reason: ${gate.answer.reason ?? 'none given'}. Do without it or choose another way.`;
    return `A person approved your request to ${what}${'answer' in gate && gate.answer.note ? ` (${gate.answer.note})` : ''}. You may do it now.`;
  }
  if (gate?.action === 'plan') return 'A person approved the plan. Carry it out.';
  return resume.answer ? `A person answered: ${resume.answer}` : 'A person asked you to go on.';
}
