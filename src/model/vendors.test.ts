import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLlmServer, type LlmServer } from '../../test/support/llm-server.js';
import type { ChatMessage } from '../protocol/model.js';
import { clientFor, request, vendorSpecs, type TestVendor } from '../../test/support/model-helpers.js';

let server: LlmServer;
beforeEach(async () => {
  server = await startLlmServer();
});
afterEach(async () => {
  await server.close();
});

const wirePaths: Record<TestVendor, string> = { anthropic: '/v1/messages', openai: '/v1/responses', 'openai-compatible': '/v1/chat/completions' };
const vendors = Object.keys(vendorSpecs) as TestVendor[];

describe.each(vendors)('%s over the wire', (vendor) => {
  const spec = vendorSpecs[vendor];

  it('streams text and tool calls, with usage and cost', async () => {
    server.reply({
      text: 'Let me read the file first.',
      toolCalls: [{ name: 'read_file', input: { path: 'src/a.ts' } }],
      usage: { inputTokens: 1000, outputTokens: 200, cachedInputTokens: 400 },
    });
    const client = await clientFor(spec, server);
    const deltas: string[] = [];
    const response = await client.complete(request(), { onTextDelta: (d) => deltas.push(d) });

    expect(response.text).toBe('Let me read the file first.');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(response.text);
    expect(response.toolCalls).toEqual([{ id: expect.any(String), name: 'read_file', input: { path: 'src/a.ts' } }]);
    expect(response.finishReason).toBe('tool-calls');
    expect(response.usage).toEqual({ inputTokens: 1000, outputTokens: 200, cachedInputTokens: 400 });
    const expectedCost = { anthropic: (600 * 3 + 400 * 0.3 + 200 * 15) / 1e6, openai: (600 * 1.25 + 400 * 0.125 + 200 * 10) / 1e6, 'openai-compatible': 0 }[vendor];
    expect(response.costUsd).toBeCloseTo(expectedCost, 10);

    const wire = server.requests[0];
    expect(wire?.path).toBe(wirePaths[vendor]);
    expect(wire?.body).toMatchObject({ stream: true });
    expect(wire?.rawBody).toContain('read_file');
  });

  it('sends the API key the vendor expects', async () => {
    server.reply({ text: 'ok' });
    const client = await clientFor(spec, server);
    await client.complete(request());
    const headers = server.requests[0]?.headers ?? {};
    if (vendor === 'anthropic') expect(headers['x-api-key']).toBe('sk-ant-test');
    else expect(headers.authorization).toBe('Bearer sk-test');
  });

  it('ends a text-only answer with finishReason stop', async () => {
    server.reply({ text: 'All done.' });
    const response = await (await clientFor(spec, server)).complete(request());
    expect(response).toMatchObject({ text: 'All done.', toolCalls: [], finishReason: 'stop' });
  });

  it('turns unusable tool arguments into inputError instead of throwing', async () => {
    server.reply({
      toolCalls: [
        { name: 'read_file', rawArguments: '{"path": ' },
        { name: 'read_file', input: { file: 'a.ts' } },
        { name: 'delete_everything', input: {} },
        { name: 'read_file', input: { path: 'ok.ts' } },
      ],
    });
    const response = await (await clientFor(spec, server)).complete(request());
    const [broken, mismatched, unknown, fine] = response.toolCalls;
    expect(broken).toMatchObject({ name: 'read_file', input: undefined });
    expect(broken?.inputError).toMatch(/not valid JSON/);
    expect(mismatched).toMatchObject({ name: 'read_file', input: undefined });
    expect(mismatched?.inputError).toMatch(/do not match its input schema/);
    expect(unknown?.inputError).toMatch(/no tool named "delete_everything".*read_file/);
    expect(fine).toMatchObject({ name: 'read_file', input: { path: 'ok.ts' } });
    expect(fine?.inputError).toBeUndefined();
  });

  it('sends earlier tool calls and results in the vendor format', async () => {
    server.reply({ text: 'Fixed.' });
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Fix the bug.' },
      { role: 'assistant', content: 'Reading.', toolCalls: [{ id: 'c1', name: 'read_file', input: { path: 'a.ts' } }, { id: 'c2', name: 'read_file', input: undefined, inputError: 'bad' }] },
      { role: 'tool', results: [{ callId: 'c1', name: 'read_file', output: 'export const a = 1;' }, { callId: 'c2', name: 'read_file', output: 'bad arguments', isError: true }] },
    ];
    await (await clientFor(spec, server)).complete(request({ messages }));
    const body = server.requests[0]?.body as Record<string, unknown>;
    const text = JSON.stringify(body);
    expect(text).toContain('export const a = 1;');
    if (vendor === 'anthropic') {
      const sent = body.messages as { role: string; content: { type: string; is_error?: boolean; tool_use_id?: string }[] }[];
      expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(sent[1]?.content.filter((c) => c.type === 'tool_use')).toHaveLength(2);
      expect(sent[2]?.content).toEqual([
        expect.objectContaining({ type: 'tool_result', tool_use_id: 'c1' }),
        expect.objectContaining({ type: 'tool_result', tool_use_id: 'c2', is_error: true }),
      ]);
    } else if (vendor === 'openai') {
      const input = body.input as { type?: string; call_id?: string }[];
      expect(input.filter((i) => i.type === 'function_call').map((i) => i.call_id)).toEqual(['c1', 'c2']);
      expect(input.filter((i) => i.type === 'function_call_output').map((i) => i.call_id)).toEqual(['c1', 'c2']);
    } else {
      const sent = body.messages as { role: string; tool_call_id?: string; tool_calls?: unknown[] }[];
      expect(sent.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool']);
      expect(sent[2]?.tool_calls).toHaveLength(2);
    }
  });
});

describe('anthropic prompt caching', () => {
  it('marks the system prompt and the newest message with cache_control', async () => {
    server.reply({ text: 'ok' });
    const messages: ChatMessage[] = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'noted' },
      { role: 'user', content: 'second' },
    ];
    await (await clientFor(vendorSpecs.anthropic, server)).complete(request({ messages }));
    const body = server.requests[0]?.body as { system: { cache_control?: unknown }[]; messages: { content: { cache_control?: unknown }[] }[] };
    expect(body.system.at(-1)?.cache_control).toEqual({ type: 'ephemeral' });
    expect(body.messages.at(-1)?.content.at(-1)?.cache_control).toEqual({ type: 'ephemeral' });
    expect(body.messages[0]?.content.at(-1)?.cache_control).toBeUndefined();
  });

  it('sends no cache_control to OpenAI', async () => {
    server.reply({ text: 'ok' });
    await (await clientFor(vendorSpecs.openai, server)).complete(request());
    expect(server.requests[0]?.rawBody).not.toContain('cache_control');
  });
});
