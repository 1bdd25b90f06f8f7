import { APICallError } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../protocol/model.js';
import { classifyFailure, StallError, type ProviderContext } from './errors.js';
import { backoffMs, retryAfterMs, sleep } from './retry.js';

const ctx: ProviderContext = { provider: 'anthropic', model: 'claude-sonnet-4-5', baseUrl: 'https://api.anthropic.com/v1', keyVar: 'ANTHROPIC_API_KEY', baseUrlVar: 'ANTHROPIC_BASE_URL' };

function httpError(statusCode: number, responseBody = '{}', responseHeaders: Record<string, string> = {}): APICallError {
  return new APICallError({ message: 'vendor says no', url: `${ctx.baseUrl}/messages`, requestBodyValues: {}, statusCode, responseBody, responseHeaders });
}

describe('backoff', () => {
  it('doubles from the base, with jitter between half and all of the step, capped', () => {
    expect(backoffMs(1, 500, 8000, () => 0)).toBe(250);
    expect(backoffMs(1, 500, 8000, () => 1)).toBe(500);
    expect(backoffMs(3, 500, 8000, () => 1)).toBe(2000);
    expect(backoffMs(10, 500, 8000, () => 1)).toBe(8000);
    expect(backoffMs(10, 500, 8000, () => 0)).toBe(4000);
  });

  it('reads retry-after-ms, retry-after seconds and HTTP dates', () => {
    expect(retryAfterMs({ 'retry-after-ms': '1200', 'retry-after': '5' })).toBe(1200);
    expect(retryAfterMs({ 'Retry-After': '2' })).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });

  it('sleeps until aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });
});

describe('classifyFailure', () => {
  it('retries 429 with the wait the server asked for', () => {
    expect(classifyFailure(httpError(429, '{}', { 'retry-after': '3' }), ctx)).toMatchObject({ kind: 'rate_limit', retry: { afterMs: 3000 } });
  });

  it('spots spend limits in the body, whatever the status', () => {
    const quota = classifyFailure(httpError(429, '{"error":{"code":"insufficient_quota"}}'), ctx);
    expect(quota.kind).toBe('spend_limit');
    expect(quota.retry).toBeUndefined();
    expect(classifyFailure(httpError(400, '{"error":{"message":"Your credit balance is too low"}}'), ctx).kind).toBe('spend_limit');
  });

  it('honours x-should-retry', () => {
    expect(classifyFailure(httpError(503, '{}', { 'x-should-retry': 'false' }), ctx).retry).toBeUndefined();
    expect(classifyFailure(httpError(429, '{}', { 'x-should-retry': 'false' }), ctx).retry).toBeUndefined();
    expect(classifyFailure(httpError(503), ctx).retry).toBeDefined();
  });

  it('retries stream errors the vendor marks as transient', () => {
    expect(classifyFailure({ type: 'overloaded_error', message: 'Overloaded' }, ctx)).toMatchObject({ kind: 'unreachable', retry: { reason: expect.stringContaining('overloaded') } });
    expect(classifyFailure({ type: 'invalid_request_error', message: 'bad' }, ctx).retry).toBeUndefined();
    expect(classifyFailure({ code: 'insufficient_quota', message: 'quota' }, ctx).kind).toBe('spend_limit');
  });

  it('treats socket failures as dropped streams and stalls as timeouts', () => {
    const dropped = new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(classifyFailure(dropped, ctx)).toMatchObject({ kind: 'unreachable', retry: { reason: expect.stringMatching(/stream dropped/) } });
    expect(classifyFailure(new StallError(30_000), ctx)).toMatchObject({ kind: 'timeout', retry: { reason: expect.stringMatching(/stalled/) } });
  });

  it('passes ModelErrors through and never retries them', () => {
    const failure = classifyFailure(new ModelError('auth', 'no', 'fix it'), ctx);
    expect(failure).toEqual({ kind: 'auth', message: 'no', hint: 'fix it' });
  });
});
