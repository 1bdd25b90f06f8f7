/**
 * Turns whatever the SDK, fetch or the vendor threw into a decision: retry (and how long to wait) or
 * end the call with a ModelError that says what happened and what to do next.
 */
import { APICallError, InvalidResponseDataError, JSONParseError, TypeValidationError } from '@ai-sdk/provider';
import { ModelError, type ModelErrorKind } from '../protocol/model.js';
import { retryAfterMs } from './retry.js';

export interface ProviderContext {
  provider: 'anthropic' | 'openai' | 'openai-compatible';
  model: string;
  baseUrl: string;
  /** The variable holding the API key, when the provider needs one. */
  keyVar: string | undefined;
  baseUrlVar: string;
}

export interface Failure {
  /** The kind of the ModelError when this failure ends the call. */
  kind: ModelErrorKind;
  message: string;
  hint: string;
  /** Present when another attempt may succeed. */
  retry?: { reason: string; afterMs?: number; maxAttempts?: number };
}

/** Thrown by one attempt when the stream went quiet for too long. */
export class StallError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no data from the provider for ${waitedMs} ms`);
    this.name = 'StallError';
  }
}

const networkCodes = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);
const networkMessages = /^(terminated|fetch failed|other side closed|socket hang up)$/i;
const spendLimit = /insufficient_quota|billing_hard_limit|billing_error|credit balance|check your plan and billing/i;
const retryableStreamTypes = /overloaded|api_error|server_error|rate_limit|timeout/i;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The first network-level error in a cause chain (connection refused, reset, socket closed...). */
export function findNetworkError(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const r = record(current);
    const code = typeof r?.code === 'string' ? r.code : undefined;
    if (current instanceof Error && ((code && networkCodes.has(code)) || networkMessages.test(current.message))) return current;
    current = r?.cause;
  }
  return undefined;
}

function label(ctx: ProviderContext): string {
  return `${ctx.provider}/${ctx.model}`;
}

function keyHint(ctx: ProviderContext): string {
  return ctx.keyVar ? `Check ${ctx.keyVar}: it must hold a valid key with access to ${ctx.model}.` : `Check the API key the server at ${ctx.baseUrl} expects (set OPENAI_API_KEY).`;
}

function unreachable(ctx: ProviderContext, detail: string, reason: string): Failure {
  return {
    kind: 'unreachable',
    message: `Cannot reach ${ctx.baseUrl} for ${label(ctx)}: ${detail}`,
    hint: `Check your network and that ${ctx.baseUrl} is the right address (change it with --base-url or ${ctx.baseUrlVar}).`,
    retry: { reason },
  };
}

function unreadable(ctx: ProviderContext, detail: string): Failure {
  return {
    kind: 'bad_response',
    message: `${label(ctx)} sent a response Slipway cannot read (${detail.split('\n')[0]})`,
    hint: `Check that ${ctx.baseUrl} speaks the ${ctx.provider} API (a proxy or wrong base URL often answers with HTML).`,
    retry: { reason: 'unreadable response', maxAttempts: 3 },
  };
}

function classifyHttp(error: APICallError, ctx: ProviderContext): Failure {
  const status = error.statusCode;
  const vendorMessage = error.message;
  const headers = error.responseHeaders;
  if (status === undefined) return unreachable(ctx, vendorMessage.replace(/^Cannot connect to API: /, ''), `network error: ${vendorMessage}`);
  if (status < 300) {
    const network = findNetworkError(error);
    if (network) return unreachable(ctx, `the response stream was cut off (${network.message})`, `stream dropped: ${network.message}`);
    return unreadable(ctx, vendorMessage);
  }
  const body = `${error.responseBody ?? ''} ${vendorMessage}`;
  if ([400, 402, 403, 429].includes(status) && spendLimit.test(body)) {
    return {
      kind: 'spend_limit',
      message: `${label(ctx)} refused the request because the account's spend limit or credit is exhausted (HTTP ${status}: ${vendorMessage})`,
      hint: `Add credit or raise the spend limit in the ${ctx.provider} console, then resume the run. Slipway does not retry this.`,
    };
  }
  if (status === 401 || status === 403) {
    return { kind: 'auth', message: `${label(ctx)} rejected the credentials (HTTP ${status}: ${vendorMessage})`, hint: keyHint(ctx) };
  }
  if (status === 404) {
    return {
      kind: 'unknown_model',
      message: `${ctx.baseUrl} does not know the model "${ctx.model}" (HTTP 404: ${vendorMessage})`,
      hint: `Check the model name in "${label(ctx)}" (known ids are in src/model/catalog.json) and that ${ctx.baseUrl} is the API root, usually ending in /v1.`,
    };
  }
  const shouldRetry = headers?.['x-should-retry'];
  const retryable = shouldRetry === 'true' || (shouldRetry !== 'false' && (status === 408 || status === 409 || status === 429 || status >= 500));
  if (status === 429) {
    return {
      kind: 'rate_limit',
      message: `${label(ctx)} kept answering "rate limited" (HTTP 429: ${vendorMessage})`,
      hint: 'Wait a few minutes, lower the number of parallel agents, or ask the provider for a higher rate limit.',
      ...(retryable ? { retry: { reason: 'rate limited (HTTP 429)', afterMs: retryAfterMs(headers) } } : {}),
    };
  }
  if (status >= 500 || status === 408 || status === 409) {
    return {
      kind: 'unreachable',
      message: `${label(ctx)} failed on the provider's side (HTTP ${status}: ${vendorMessage})`,
      hint: `The provider at ${ctx.baseUrl} is having trouble; try again later or switch model with --model.`,
      ...(retryable ? { retry: { reason: `server error (HTTP ${status})`, afterMs: retryAfterMs(headers) } } : {}),
    };
  }
  return {
    kind: 'bad_response',
    message: `${label(ctx)} rejected the request (HTTP ${status}: ${vendorMessage})`,
    hint: 'The request was not accepted as sent (for example too long for the context window or an unsupported option); shorten the task or pick another model.',
  };
}

/** Classifies an error from one attempt. ModelErrors pass through unchanged and are never retried. */
export function classifyFailure(error: unknown, ctx: ProviderContext): Failure {
  if (error instanceof ModelError) return { kind: error.kind, message: error.message, hint: error.hint };
  if (error instanceof StallError) {
    return {
      kind: 'timeout',
      message: `${label(ctx)} stopped sending data (${error.message})`,
      hint: 'The provider is slow or the connection stalls; try again later or raise the stall timeout.',
      retry: { reason: `stalled: ${error.message}` },
    };
  }
  if (APICallError.isInstance(error)) return classifyHttp(error, ctx);
  const network = findNetworkError(error);
  if (network) return unreachable(ctx, `the connection failed (${network.message})`, `stream dropped: ${network.message}`);
  if (InvalidResponseDataError.isInstance(error) || JSONParseError.isInstance(error) || TypeValidationError.isInstance(error)) {
    return unreadable(ctx, error.message);
  }
  // Errors a vendor reports inside an open stream arrive as plain objects ({ type, message, ... }).
  const r = record(error);
  const message = typeof r?.message === 'string' ? r.message : error instanceof Error ? error.message : String(error);
  const type = [r?.type, r?.code].filter((v) => typeof v === 'string').join(' ');
  if (spendLimit.test(`${type} ${message}`)) {
    return { kind: 'spend_limit', message: `${label(ctx)} stopped: spend limit or credit exhausted (${message})`, hint: `Add credit or raise the spend limit in the ${ctx.provider} console, then resume the run.` };
  }
  if (r?.isRetryable === true || retryableStreamTypes.test(type)) {
    const kind: ModelErrorKind = /rate_limit/.test(type) ? 'rate_limit' : 'unreachable';
    return { kind, message: `${label(ctx)} reported an error mid-stream (${type}: ${message})`, hint: 'The provider is overloaded or failing; try again later.', retry: { reason: `stream error: ${type || message}` } };
  }
  return { kind: 'bad_response', message: `${label(ctx)} failed: ${message}`, hint: 'This looks like a provider or Slipway bug; run again with --record to capture the exchange and report it.' };
}
