/** Errors a user can act on: what happened (`message`) and what to do next (`hint`). */
import { HintedError } from '../protocol/index.js';

export type WorkspaceErrorCode =
  | 'invalid_path'
  | 'no_such_path'
  | 'not_a_directory'
  | 'not_a_repo'
  | 'empty_repo'
  | 'detached_head'
  | 'unknown_base'
  | 'invalid_name'
  | 'workspace_exists'
  | 'unsafe_path'
  | 'git_failed'
  | 'branch_checked_out'
  | 'locked';

export class WorkspaceError extends HintedError {
  override readonly name = 'WorkspaceError';
  constructor(
    readonly code: WorkspaceErrorCode,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }
}
