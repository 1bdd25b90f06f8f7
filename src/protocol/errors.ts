/** An error a person can act on: `message` says what happened, `hint` what to do next. */
export class HintedError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * What an error says and what to do next, for printing. A hint the message already ends with (the store's
 * messages are complete on their own) is not repeated; an error without a hint gives its message alone.
 */
export function describeHinted(error: unknown): { message: string; hint?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const raw = typeof error === 'object' && error !== null ? (error as { hint?: unknown }).hint : undefined;
  const hint = typeof raw === 'string' && raw !== '' && !message.includes(raw) ? raw : undefined;
  return hint ? { message, hint } : { message };
}
