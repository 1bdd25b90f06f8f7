/** Ctrl-C for long commands: the first stops the work cleanly, a second quits at once. */
import type { Output } from './output.js';

/** Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const STOPPED_EXIT = 130;

export interface Interrupt {
  /** Aborted on the first Ctrl-C or SIGTERM. */
  signal: AbortSignal;
  /** Stops listening; call it when the command ends. */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM. The first aborts `signal` and prints `message` (what is kept, how to go
 * on); a second exits at once with STOPPED_EXIT, for a person who does not want to wait for the clean stop.
 */
export function onInterrupt(out: Output, message: string): Interrupt {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(STOPPED_EXIT);
    out.stderr(`\nstopping… ${message} (Ctrl-C again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
