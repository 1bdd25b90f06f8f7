/** The one error type every store adapter throws, so front ends can tell storage trouble from the rest. */
import { HintedError } from '../protocol/errors.js';

export type StoreErrorKind =
  | 'not_a_store' // the file is not a SQLite database, or belongs to another program
  | 'newer_schema' // written by a newer Slipway than this one
  | 'unavailable' // cannot be opened or written: permissions, disk full, locked too long
  | 'not_found' // a run (or the run a record points at) does not exist
  | 'conflict' // a record with that id already exists
  | 'corrupt' // a stored row no longer matches what Slipway wrote
  | 'invalid' // a caller tried to store a record that does not match the protocol (a bug)
  | 'closed'; // the store was used after close()

/**
 * A storage failure. `message` is complete on its own (what happened, then what to do); `hint` repeats
 * the what-to-do part for front ends that lay it out separately (describeHinted does not print it twice).
 */
export class StoreError extends HintedError {
  override name = 'StoreError';

  constructor(
    readonly kind: StoreErrorKind,
    what: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(hint ? `${what} ${hint}` : what, hint, options);
  }
}
