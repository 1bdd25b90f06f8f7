import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLlmServer, type LlmServer } from '../../test/support/llm-server.js';
import { ModelError } from '../protocol/model.js';
import type { RetryInfo } from './retry.js';
import { clientFor, request, vendorSpecs, type TestVendor } from '../../test/support/model-helpers.js';

let server: LlmServer;
beforeEach(async () => {
  server = await startLlmServer();
});
afterEach(async () => {
  await server.close();
});

async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelError);
  return error as ModelError;
}

async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

describe('retries', () => {
  it('retries a 429 after the retry-after header and reports each retry', async () => {
    server.fail({ status: 429, headers: { 'retry-after': '0' } }).reply({ text: 'recovered' });
    const retries: RetryInfo[] = [];
    const client = await clientFor(vendorSpecs.anthropic, server, { onRetry: (info) => retries.push(info) });
    const response = await client.complete(request());
    expect(response.text).toBe('recovered');
    expect(server.requests).toHaveLength(2);
    expect(retries).toEqual([{ attempt: 1, waitMs: 0, reason: expect.stringMatching(/rate limited/) }]);
  });

  it('waits as long as retry-after-ms asks', async () => {
    server.fail({ status: 429, headers: { 'retry-after-ms': '150' } }).reply({ text: 'ok' });
    const retries: RetryInfo[] = [];
    const client = await clientFor(vendorSpecs.openai, server, { onRetry: (info) => retries.push(info) });
    const started = Date.now();
    await client.complete(request());
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(retries[0]?.waitMs).toBe(150);
  });

  it('retries 5xx and overloaded answers', async () => {
    server.fail({ status: 503 }).fail({ status: 529 }).reply({ text: 'ok' });
    const response = await (await clientFor(vendorSpecs.anthropic, server)).complete(request());
    expect(response.text).toBe('ok');
    expect(server.requests).toHaveLength(3);
  });

  it.each(Object.keys(vendorSpecs) as TestVendor[])('recovers from a dropped %s stream', async (vendor) => {
    server.dropStream({ afterChunks: 3 }).reply({ text: 'complete answer' });
    const retries: RetryInfo[] = [];
    const client = await clientFor(vendorSpecs[vendor], server, { onRetry: (info) => retries.push(info) });
    const response = await client.complete(request());
    expect(response.text).toBe('complete answer');
    expect(retries).toHaveLength(1);
    expect(retries[0]?.reason).toMatch(/stream dropped/);
  });

  it('aborts and retries a request that gets no answer within the stall timeout', async () => {
    server.hang().reply({ text: 'second try' });
    const retries: RetryInfo[] = [];
    const client = await clientFor(vendorSpecs.openai, server, { stallTimeoutMs: 150, onRetry: (info) => retries.push(info) });
    const response = await client.complete(request());
    expect(response.text).toBe('second try');
    expect(retries[0]?.reason).toMatch(/stalled/);
  });

  it.each(Object.keys(vendorSpecs) as TestVendor[])('waits for a slow %s answer whose keep-alives keep coming', async (vendor) => {
    // Six keep-alives 80 ms apart: nearly half a second of nothing but keep-alives, three stall timeouts long.
    server.slowStream({ turn: { text: 'worth the wait' }, keepAlives: 6, everyMs: 80 });
    const retries: RetryInfo[] = [];
    const client = await clientFor(vendorSpecs[vendor], server, { stallTimeoutMs: 150, onRetry: (info) => retries.push(info) });
    const response = await client.complete(request());
    expect(response.text).toBe('worth the wait');
    expect(retries).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('aborts and retries a stream that goes quiet midway', async () => {
    server.stallStream({ afterChunks: 4 }).reply({ text: 'second try' });
    const retries: RetryInfo[] = [];
    const client = await clientFor(vendorSpecs['openai-compatible'], server, { stallTimeoutMs: 150, onRetry: (info) => retries.push(info) });
    const response = await client.complete(request());
    expect(response.text).toBe('second try');
    expect(retries[0]?.reason).toMatch(/stalled/);
  });
});

describe('giving up', () => {
  it('never retries a spend-limit 429 from OpenAI', async () => {
    server.fail({ status: 429, code: 'insufficient_quota', message: 'You exceeded your current quota, please check your plan and billing details.' });
    const retries: RetryInfo[] = [];
    const client = await clientFor(vendorSpecs.openai, server, { onRetry: (info) => retries.push(info) });
    const error = await failure(client.complete(request()));
    expect(error.kind).toBe('spend_limit');
    expect(error.hint).toMatch(/credit|spend limit/);
    expect(server.requests).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('never retries an Anthropic credit or billing error', async () => {
    server.fail({ status: 400, message: 'Your credit balance is too low to access the Anthropic API.' });
    server.fail({ status: 429, code: 'billing_error', message: 'Billing problem' });
    const client = await clientFor(vendorSpecs.anthropic, server);
    expect((await failure(client.complete(request()))).kind).toBe('spend_limit');
    expect((await failure(client.complete(request()))).kind).toBe('spend_limit');
    expect(server.requests).toHaveLength(2);
  });

  it('gives up on repeated 5xx within giveUpAfterMs', async () => {
    for (let i = 0; i < 200; i++) server.fail({ status: 503 });
    const client = await clientFor(vendorSpecs.anthropic, server, { giveUpAfterMs: 300, retryBaseMs: 20 });
    const started = Date.now();
    const error = await failure(client.complete(request()));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error.kind).toBe('unreachable');
    expect(error.message).toMatch(/HTTP 503.*gave up after \d+ attempts/);
  });

  it('gives up on a rate limit that does not lift with kind rate_limit', async () => {
    for (let i = 0; i < 200; i++) server.fail({ status: 429 });
    const client = await clientFor(vendorSpecs.openai, server, { giveUpAfterMs: 200, retryBaseMs: 10 });
    expect((await failure(client.complete(request()))).kind).toBe('rate_limit');
  });

  it('reports the rate limit, not a timeout, when the last try is cut short by the give-up deadline', async () => {
    // The second try waits for an answer only until giving up is due: that wait ending is no new failure.
    server.fail({ status: 429, headers: { 'retry-after': '0' } }).hang();
    const client = await clientFor(vendorSpecs.openai, server, { giveUpAfterMs: 300, retryBaseMs: 10, stallTimeoutMs: 10_000 });
    const error = await failure(client.complete(request()));
    expect(error.kind).toBe('rate_limit');
    expect(error.message).toMatch(/gave up after 2 attempts/);
  });

  it('gives up with kind timeout when the server never answers, bounded by giveUpAfterMs', async () => {
    for (let i = 0; i < 20; i++) server.hang();
    const client = await clientFor(vendorSpecs.anthropic, server, { giveUpAfterMs: 300, stallTimeoutMs: 10_000 });
    const started = Date.now();
    const error = await failure(client.complete(request()));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error.kind).toBe('timeout');
  });

  it('names the URL when nothing listens there', async () => {
    const url = await closedPortUrl();
    const client = await clientFor(vendorSpecs.openai, server, { baseUrl: url, giveUpAfterMs: 200 });
    const error = await failure(client.complete(request()));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain(url);
    expect(error.hint).toMatch(/OPENAI_BASE_URL|--base-url/);
  });

  it('reports an unknown model (404) without retrying', async () => {
    server.fail({ status: 404, message: 'model: claude-nonexistent' });
    const client = await clientFor('anthropic/claude-nonexistent', server);
    const error = await failure(client.complete(request()));
    expect(error.kind).toBe('unknown_model');
    expect(error.message).toContain('claude-nonexistent');
    expect(server.requests).toHaveLength(1);
  });

  it.each([401, 403])('reports HTTP %i as an auth problem naming the key variable', async (status) => {
    server.fail({ status });
    const error = await failure((await clientFor(vendorSpecs.anthropic, server)).complete(request()));
    expect(error.kind).toBe('auth');
    expect(error.hint).toContain('ANTHROPIC_API_KEY');
  });

  it('does not retry a rejected request (400)', async () => {
    server.fail({ status: 400, message: 'prompt is too long' });
    const error = await failure((await clientFor(vendorSpecs.openai, server)).complete(request()));
    expect(error.kind).toBe('bad_response');
    expect(error.message).toContain('prompt is too long');
    expect(server.requests).toHaveLength(1);
  });

  it.each(Object.keys(vendorSpecs) as TestVendor[])('reports %s garbage as bad_response after a few tries', async (vendor) => {
    for (let i = 0; i < 5; i++) server.garbage();
    const error = await failure((await clientFor(vendorSpecs[vendor], server)).complete(request()));
    expect(error.kind).toBe('bad_response');
    expect(server.requests).toHaveLength(3);
  });

  it('stops at once when the fake server has no turn queued (x-should-retry: false)', async () => {
    const error = await failure((await clientFor(vendorSpecs.anthropic, server)).complete(request()));
    expect(error.message).toContain('no turn queued');
    expect(server.requests).toHaveLength(1);
  });
});

describe('cancellation', () => {
  it('aborts a waiting request with kind aborted', async () => {
    server.hang();
    const client = await clientFor(vendorSpecs.openai, server, { stallTimeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await failure(client.complete(request(), { signal: controller.signal }));
    expect(error.kind).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('aborts during a backoff wait', async () => {
    server.fail({ status: 429, headers: { 'retry-after': '10' } });
    const client = await clientFor(vendorSpecs.anthropic, server, { giveUpAfterMs: 60_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(client.complete(request(), { signal: controller.signal }));
    expect(error.kind).toBe('aborted');
  });

  it('refuses to start when the signal is already aborted', async () => {
    const client = await clientFor(vendorSpecs.anthropic, server);
    const error = await failure(client.complete(request(), { signal: AbortSignal.abort() }));
    expect(error.kind).toBe('aborted');
    expect(server.requests).toHaveLength(0);
  });
});
