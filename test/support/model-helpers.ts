/** Shared setup for the model layer's tests (not a test file itself). */
import type { ModelRequest, ToolSpec } from '../../src/protocol/model.js';
import type { LlmServer } from './llm-server.js';
import { createModelClient, type CreateModelClientOptions } from '../../src/model/create.js';

export const readFileTool: ToolSpec = {
  name: 'read_file',
  description: 'Read a file',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
};

export function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return { role: 'coder', system: 'You are a careful engineer.', messages: [{ role: 'user', content: 'Fix the bug.' }], tools: [readFileTool], ...overrides };
}

export const vendorSpecs = {
  anthropic: 'anthropic/claude-sonnet-4-5',
  openai: 'openai/gpt-5',
  'openai-compatible': 'openai-compatible/llama-3.1-8b',
} as const;

export type TestVendor = keyof typeof vendorSpecs;

/** A client for `spec` pointed at the fake server, with fast retries. */
export function clientFor(spec: string, server: LlmServer, extra: Partial<CreateModelClientOptions> = {}) {
  return createModelClient(spec, {
    env: { ANTHROPIC_API_KEY: 'sk-ant-test', OPENAI_API_KEY: 'sk-test' },
    baseUrl: spec.startsWith('anthropic/') ? server.anthropicBaseUrl : server.openaiBaseUrl,
    retryBaseMs: 5,
    giveUpAfterMs: 5_000,
    stallTimeoutMs: 2_000,
    ...extra,
  });
}
