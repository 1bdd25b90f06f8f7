/** Ports for the per-run clone and the sandboxed command runner. */

export interface CommandOptions {
  /** Absolute directory inside the clone to run in. */
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra environment (already free of secrets); the runner starts from a stripped environment. */
  env?: Record<string, string>;
  /** Bytes of output kept: half from the head, half from the tail. */
  maxOutputBytes?: number;
}

export interface CommandResult {
  exitCode: number | null;
  /** Set when the process was ended by a signal. */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** Combined stdout and stderr; when longer than the limit, head and tail with a marker between. */
  output: string;
  truncated: boolean;
}

export interface CommandRunner {
  /** `bubblewrap` or `none` (no sandbox: only with --no-sandbox, and loud). */
  readonly kind: 'bubblewrap' | 'none';
  run(command: string, options: CommandOptions): Promise<CommandResult>;
}

export interface FileChange {
  path: string;
  status: 'added' | 'modified' | 'deleted' | 'renamed';
}

/** A clone of the user's repository on its own branch; nothing here touches the user's tree. */
export interface Workspace {
  /** Absolute path of the clone. */
  readonly dir: string;
  readonly branch: string;
  readonly base: string;
  readonly baseCommit: string;
  /**
   * The user's repository's common git folder (shared by its worktrees), where Slipway's locks on it live; known
   * when the clone was made, undefined when it was reopened.
   */
  readonly userGitDir?: string | undefined;
  /**
   * The files of the work tree as the clone was made (the base commit's, relative), listed while it was checked
   * out; undefined for a clone that was reopened, which may hold more.
   */
  readonly filesAtStart?: Promise<string[]> | undefined;
  /**
   * Says the work tree may have changed (a tool wrote a file, a command ran in the clone). Until it is called,
   * commitAll and the diffs trust what git last saw and start no process to look again.
   */
  touch(): void;
  /**
   * Says the tree is at rest for now (a tool just ran, the model thinks): the workspace may stage and diff it in
   * the background, for the commit or diff that follows if nothing touches it first.
   */
  stageAhead?(): void;
  /** Stops what stageAhead started, leaving nothing of it behind (the run is over, its clone may be kept). */
  stopStagingAhead?(): Promise<void>;
  /** Commit everything in the work tree; returns the new head, or the old one when nothing changed. */
  commitAll(message: string): Promise<string>;
  head(): Promise<string>;
  /** Unified diff of the work tree (committed and not) against the base commit. */
  diff(): Promise<string>;
  diffStat(): Promise<string>;
  changedFiles(): Promise<FileChange[]>;
  /** Contents of a file at the base commit, or null when it did not exist there. */
  readAtBase(path: string): Promise<string | null>;
  /**
   * Make a throwaway work tree at the base commit with the given files overlaid from the current tree, and
   * the files of `contents` written as given (a file whose proof takes only part of the change: its tests)
   * (used to prove that new tests fail before the change). Returns its path and a disposer.
   */
  checkoutBaseWith(paths: string[], contents?: Record<string, string>): Promise<{ dir: string; dispose(): Promise<void> }>;
  /** Untracked files in the work tree that no ignore rule covers (folders end with /). */
  untracked(): Promise<string[]>;
  /**
   * Leave these untracked paths out of the change for the rest of the run (the clone's .git/info/exclude):
   * what installing dependencies and running the tests made is no part of it.
   */
  exclude(paths: string[]): Promise<void>;
  /** Fetch the run's branch into the user's repository (outside the sandbox). */
  publishBranch(): Promise<void>;
  /**
   * Removes the clone and its checkouts. `runOver` (the run is done with its folder: its pull request is open):
   * the commands' cache goes too, and all of it is moved aside at once and deleted by a process of its own.
   */
  dispose(options?: { runOver?: boolean }): Promise<void>;
}
