import { HintedError } from '../protocol/index.js';

/** Control flow of the loop is by typed exceptions that carry a message for people. */

/** The agent needs a person: stuck, over budget, or out of verify rounds. */
export class Escalation extends Error {
  override name = 'Escalation';
  constructor(
    /** The question put to the person. */
    readonly question: string,
    readonly cause_: 'stuck' | 'budget' | 'rounds' | 'model',
  ) {
    super(question);
  }
}

/** The person stopped the run (Ctrl-C) or its signal was aborted. */
export class RunAborted extends Error {
  override name = 'RunAborted';
}

/** A failure that ends the run; `hint` says what to do next. */
export class RunFailure extends HintedError {
  override name = 'RunFailure';
}
