/** Storage adapters of the protocol's RunStore port. */
import type { RunStore } from '../protocol/index.js';

export { StoreError, type StoreErrorKind } from './store-error.js';

/**
 * Opens the SQLite store at `file`, creating it and its folder when absent; throws StoreError when the file
 * is not a Slipway store, was written by a newer Slipway, or cannot be opened. The driver loads on first
 * use, so importing this module (say, to catch StoreError) stays cheap.
 */
export async function openSqliteStore(file: string): Promise<RunStore> {
  const { openSqliteStore: open } = await import('./sqlite/sqlite-store.js');
  return open(file);
}

/**
 * For a process that serves many commands one at a time (the daemon): the SQLite store stays open between them
 * (see keepDatabaseOpen). Resolves with what closes it for good.
 */
export async function keepSqliteStoreOpen(): Promise<() => Promise<void>> {
  const { keepDatabaseOpen } = await import('./sqlite/open.js');
  return keepDatabaseOpen();
}
