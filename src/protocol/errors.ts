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
