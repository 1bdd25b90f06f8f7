/** Backoff arithmetic and waiting for the retry loop in sdk-client.ts. */

export const retryDefaults = {
  baseMs: 500,
  capMs: 8_000,
  stallTimeoutMs: 30_000,
  giveUpAfterMs: 60_000,
} as const;

export interface RetryInfo {
  /** Which retry this is: 1 for the first retry after the first failed attempt. */
  attempt: number;
  waitMs: number;
  reason: string;
}

/** Exponential backoff with jitter: a random wait between half and all of min(cap, base * 2^(attempt-1)). */
export function backoffMs(attempt: number, baseMs: number = retryDefaults.baseMs, capMs: number = retryDefaults.capMs, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * How long the server asked us to wait: `retry-after-ms` (OpenAI), then `retry-after` in seconds or as an
 * HTTP date. Undefined when neither header is usable.
 */
export function retryAfterMs(headers: Record<string, string> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ms = Number.parseFloat(lower['retry-after-ms'] ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = lower['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
