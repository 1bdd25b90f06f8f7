/** A ModelClient over an AI SDK language model, with our retry policy around single streamed steps. */
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { ModelError, type CompleteOptions, type ModelClient, type ModelRequest, type ModelResponse, type Usage } from '../protocol/model.js';
import { priceUsage, type ModelPrice } from './catalog.js';
import { classifyFailure, StallError, type Failure, type ProviderContext } from './errors.js';
import { backoffMs, retryDefaults, sleep, type RetryInfo } from './retry.js';
import { streamOnce, type AttemptOutput } from './stream-once.js';

export interface RetryPolicy {
  onRetry?: (info: RetryInfo) => void;
  stallTimeoutMs?: number;
  giveUpAfterMs?: number;
  /** First backoff step; tests shorten it. */
  retryBaseMs?: number;
}

export interface SdkClientConfig {
  spec: string;
  model: LanguageModelV3;
  ctx: ProviderContext;
  price: ModelPrice;
  contextWindow: number;
  /** Send Anthropic prompt-cache breakpoints. */
  cache: boolean;
  retry: RetryPolicy;
}

function abortedError(spec: string, cause?: unknown): ModelError {
  return new ModelError('aborted', `The call to ${spec} was cancelled.`, 'The run was stopped on request; resume it when ready.', { cause });
}

function toResponse(out: AttemptOutput, price: ModelPrice): ModelResponse {
  const usage: Usage = {
    inputTokens: out.usage?.inputTokens ?? 0,
    outputTokens: out.usage?.outputTokens ?? 0,
    cachedInputTokens: out.usage?.cacheReadTokens ?? 0,
  };
  const cacheWrites = out.usage?.cacheWriteTokens ?? 0;
  return { text: out.text, toolCalls: out.toolCalls, usage, finishReason: out.finishReason, costUsd: priceUsage(price, usage, cacheWrites) };
}

function giveUp(failure: Failure, attempts: number, startedAt: number, cause: unknown): ModelError {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  return new ModelError(failure.kind, `${failure.message} (gave up after ${tries} in ${seconds}s)`, failure.hint, { cause });
}

export function createSdkClient(config: SdkClientConfig): ModelClient {
  const stallTimeoutMs = config.retry.stallTimeoutMs ?? retryDefaults.stallTimeoutMs;
  const giveUpAfterMs = config.retry.giveUpAfterMs ?? retryDefaults.giveUpAfterMs;
  const baseMs = config.retry.retryBaseMs ?? retryDefaults.baseMs;

  async function complete(request: ModelRequest, options: CompleteOptions = {}): Promise<ModelResponse> {
    const { signal } = options;
    const startedAt = Date.now();
    /** The last failure the provider gave; an attempt cut short by our own deadline reports this one instead. */
    let previous: { failure: Failure; error: unknown } | undefined;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw abortedError(config.spec, signal.reason);
      // Before the first byte, never wait past the give-up deadline; a healthy stream may run longer.
      const remaining = Math.max(1, startedAt + giveUpAfterMs - Date.now());
      try {
        const out = await streamOnce({
          model: config.model,
          request,
          cache: config.cache,
          signal,
          onTextDelta: options.onTextDelta,
          stallTimeoutMs,
          firstChunkTimeoutMs: Math.min(stallTimeoutMs, remaining),
        });
        return toResponse(out, config.price);
      } catch (error) {
        if (signal?.aborted) throw abortedError(config.spec, error);
        const failure = classifyFailure(error, config.ctx);
        // A wait that ended only because giving up was due says nothing new: a rate limit that did not lift
        // is reported as one, not as a timeout.
        if (error instanceof StallError && remaining < stallTimeoutMs && previous) throw giveUp(previous.failure, attempt, startedAt, previous.error);
        previous = { failure, error };
        const retry = failure.retry;
        if (!retry) throw new ModelError(failure.kind, failure.message, failure.hint, { cause: error });
        if (retry.maxAttempts !== undefined && attempt >= retry.maxAttempts) throw giveUp(failure, attempt, startedAt, error);
        const waitMs = retry.afterMs ?? backoffMs(attempt, baseMs);
        if (Date.now() - startedAt + waitMs >= giveUpAfterMs) throw giveUp(failure, attempt, startedAt, error);
        config.retry.onRetry?.({ attempt, waitMs, reason: retry.reason });
        try {
          await sleep(waitMs, signal);
        } catch (reason) {
          throw abortedError(config.spec, reason);
        }
      }
    }
  }

  // Node loads its fetch implementation on first use (~40 ms); warm() lets the caller do that while it waits on I/O.
  const warm = () => void new Request('http://127.0.0.1/');
  return { spec: config.spec, contextWindow: config.contextWindow, complete, warm };
}
