import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLlmServer, type LlmServer } from './llm-server.js';

let server: LlmServer;
beforeEach(async () => {
  server = await startLlmServer();
});
afterEach(async () => {
  await server.close();
});

function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify(body), signal });
}

/** The JSON payloads of an SSE body, `[DONE]` kept as a string. */
async function events(response: Response): Promise<unknown[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((line) => line.startsWith('data: '))?.slice(6))
    .filter((data): data is string => data !== undefined)
    .map((data) => (data === '[DONE]' ? data : (JSON.parse(data) as unknown)));
}

function types(list: unknown[]): string[] {
  return list.map((e) => (typeof e === 'object' && e !== null && 'type' in e ? String(e.type) : String(e)));
}

const turn = { text: 'Hello there', toolCalls: [{ name: 'read_file', input: { path: 'a.ts' } }], usage: { inputTokens: 50, outputTokens: 7, cachedInputTokens: 20 } };

describe('llm-server wire formats', () => {
  it('streams the OpenAI Responses API events', async () => {
    server.reply(turn);
    const list = await events(await post('/v1/responses', { model: 'gpt-5', stream: true, input: [] }));
    const names = types(list);
    expect(names[0]).toBe('response.created');
    expect(names).toContain('response.output_text.delta');
    expect(names).toContain('response.function_call_arguments.delta');
    expect(names.filter((n) => n === 'response.output_item.added')).toHaveLength(2);
    expect(names.filter((n) => n === 'response.output_item.done')).toHaveLength(2);
    expect(list.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { model: 'gpt-5', usage: { input_tokens: 50, output_tokens: 7, input_tokens_details: { cached_tokens: 20 } } },
    });
    const args = list.filter((e): e is { type: string; delta: string } => types([e])[0] === 'response.function_call_arguments.delta');
    expect(JSON.parse(args.map((e) => e.delta).join(''))).toEqual({ path: 'a.ts' });
  });

  it('answers the Responses API without streaming', async () => {
    server.reply(turn);
    const body = await (await post('/v1/responses', { model: 'gpt-5', input: [] })).json();
    expect(body).toMatchObject({
      object: 'response',
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'Hello there' }] }, { type: 'function_call', name: 'read_file', arguments: '{"path":"a.ts"}' }],
    });
  });

  it('streams chat completions with tool-call deltas, usage on request, then [DONE]', async () => {
    server.reply(turn).reply({ text: 'again' });
    const list = await events(await post('/v1/chat/completions', { model: 'llama', stream: true, stream_options: { include_usage: true } }));
    expect(list.at(-1)).toBe('[DONE]');
    expect(list.at(-2)).toMatchObject({ choices: [], usage: { prompt_tokens: 50, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 20 } } });
    expect(list.at(-3)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'tool_calls' }] });
    expect(JSON.stringify(list)).toContain('"tool_calls":[{"index":0,"id":"call_1_1","type":"function"');

    const plain = await events(await post('/v1/chat/completions', { model: 'llama', stream: true }));
    expect(JSON.stringify(plain)).not.toContain('prompt_tokens');
    expect(plain.at(-2)).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
  });

  it('answers chat completions without streaming', async () => {
    server.reply(turn);
    const body = await (await post('/v1/chat/completions', { model: 'llama' })).json();
    expect(body).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'Hello there', tool_calls: [{ function: { name: 'read_file' } }] }, finish_reason: 'tool_calls' }] });
  });

  it('streams Anthropic Messages events', async () => {
    server.reply(turn);
    const list = await events(await post('/v1/messages', { model: 'claude-sonnet-4-5', stream: true }));
    const names = types(list);
    expect(names[0]).toBe('message_start');
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(names.filter((n) => n === 'content_block_start')).toHaveLength(2);
    expect(list[0]).toMatchObject({ message: { usage: { input_tokens: 30, cache_read_input_tokens: 20 } } });
    expect(list.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } });
    expect(JSON.stringify(list)).toContain('input_json_delta');
    expect(JSON.stringify(list)).toContain('text_delta');
  });

  it('answers Anthropic Messages without streaming', async () => {
    server.reply(turn);
    const body = await (await post('/v1/messages', { model: 'claude-sonnet-4-5' })).json();
    expect(body).toMatchObject({ type: 'message', content: [{ type: 'text' }, { type: 'tool_use', input: { path: 'a.ts' } }], stop_reason: 'tool_use' });
  });

  it('streams raw tool arguments as given, even when they are not JSON', async () => {
    server.reply({ toolCalls: [{ name: 'read_file', rawArguments: '{"path": oops' }] });
    const list = await events(await post('/v1/messages', { model: 'm', stream: true }));
    const partial = list.map((e) => JSON.stringify(e)).filter((e) => e.includes('input_json_delta'));
    expect(partial.map((e) => (JSON.parse(e) as { delta: { partial_json: string } }).delta.partial_json).join('')).toBe('{"path": oops');
  });
});

describe('llm-server queue and failures', () => {
  it('records every request and consumes turns in order across vendors', async () => {
    server.turns([{ text: 'one' }, { text: 'two' }]);
    expect(server.pending()).toBe(2);
    await (await post('/v1/messages', { model: 'm', n: 1 })).json();
    const second = (await (await post('/v1/chat/completions', { model: 'm' })).json()) as { choices: { message: { content: string } }[] };
    expect(second.choices[0]?.message.content).toBe('two');
    expect(server.pending()).toBe(0);
    expect(server.requests.map((r) => [r.path, r.vendor])).toEqual([
      ['/v1/messages', 'anthropic'],
      ['/v1/chat/completions', 'openai-chat'],
    ]);
    expect(server.requests[0]).toMatchObject({ method: 'POST', body: { model: 'm', n: 1 }, rawBody: '{"model":"m","n":1}' });
    expect(server.requests[0]?.headers['x-api-key']).toBe('k');
  });

  it('answers 500 with a clear message and x-should-retry: false when nothing is queued', async () => {
    const response = await post('/v1/responses', { model: 'm' });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(await response.text()).toContain('no turn queued');
  });

  it('queues failures in the vendor error shape, or with a custom body', async () => {
    server.fail({ status: 429, code: 'insufficient_quota', message: 'quota', headers: { 'retry-after': '7' } });
    server.fail({ status: 529 });
    server.fail({ status: 418, body: { teapot: true } });
    const openai = await post('/v1/responses', {});
    expect(openai.status).toBe(429);
    expect(openai.headers.get('retry-after')).toBe('7');
    expect(await openai.json()).toEqual({ error: { message: 'quota', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
    const anthropic = await post('/v1/messages', {});
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(await (await post('/v1/messages', {})).json()).toEqual({ teapot: true });
  });

  it('sends garbage with status 200', async () => {
    server.garbage('not json at all');
    const response = await post('/v1/messages', { stream: true });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('not json at all');
  });

  it('cuts a stream off after the given number of events', async () => {
    server.dropStream({ afterChunks: 2 });
    const response = await post('/v1/messages', { stream: true });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it('hangs until the client gives up, and still closes promptly', async () => {
    server.hang().stallStream({ afterChunks: 1 });
    await expect(post('/v1/messages', {}, AbortSignal.timeout(100))).rejects.toThrow();
    const stalled = await post('/v1/messages', { stream: true }, AbortSignal.timeout(100));
    await expect(stalled.text()).rejects.toThrow();
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers 404 on unknown routes', async () => {
    const response = await post('/v1/embeddings', {});
    expect(response.status).toBe(404);
    expect(server.pending()).toBe(0);
  });
});
