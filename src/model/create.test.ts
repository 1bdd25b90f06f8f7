import { describe, expect, it } from 'vitest';
import { ModelError } from '../protocol/model.js';
import { createModelClient } from './create.js';

async function configError(spec: string, env: Record<string, string | undefined> = {}, baseUrl?: string): Promise<ModelError> {
  const error = await createModelClient(spec, { env, ...(baseUrl ? { baseUrl } : {}) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelError);
  expect((error as ModelError).kind).toBe('config');
  return error as ModelError;
}

describe('createModelClient configuration', () => {
  it.each([
    ['anthropic/claude-sonnet-4-5', 'ANTHROPIC_API_KEY'],
    ['openai/gpt-5', 'OPENAI_API_KEY'],
  ])('names the missing key variable for %s', async (spec, variable) => {
    const error = await configError(spec, { [variable]: '  ' });
    expect(error.message).toContain(variable);
    expect(error.hint).toContain(variable);
  });

  it('lists the valid forms for an unknown provider', async () => {
    const error = await configError('gemini/gemini-2.5-pro');
    expect(error.message).toContain('gemini');
    for (const form of ['anthropic/<model>', 'openai/<model>', 'openai-compatible/<model>', 'script:<file>', 'replay:<file>']) {
      expect(error.hint).toContain(form);
    }
  });

  it('rejects a spec without a model', async () => {
    expect((await configError('anthropic/', { ANTHROPIC_API_KEY: 'k' })).message).toMatch(/names no model/);
    expect((await configError('script:')).message).toMatch(/names no file/);
  });

  it('requires a base URL for openai-compatible, but no key', async () => {
    const error = await configError('openai-compatible/llama3');
    expect(error.hint).toMatch(/--base-url|OPENAI_BASE_URL/);
    const client = await createModelClient('openai-compatible/llama3', { env: { OPENAI_BASE_URL: 'http://localhost:11434/v1' } });
    expect(client.spec).toBe('openai-compatible/llama3');
  });

  it('rejects a malformed base URL and names where it came from', async () => {
    const error = await configError('anthropic/claude-haiku-4-5', { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'not a url' });
    expect(error.message).toContain('ANTHROPIC_BASE_URL');
    expect((await configError('openai/gpt-5', { OPENAI_API_KEY: 'k' }, 'ftp://example.com')).message).toMatch(/http or https/);
  });

  it('takes the context window from the catalog', async () => {
    const client = await createModelClient('openai/gpt-4.1', { env: { OPENAI_API_KEY: 'k' } });
    expect(client.contextWindow).toBe(1047576);
    const unknown = await createModelClient('anthropic/claude-future-9', { env: { ANTHROPIC_API_KEY: 'k' } });
    expect(unknown.contextWindow).toBe(128000);
  });

  it('makes no network call at creation', async () => {
    let calls = 0;
    const countingFetch: typeof fetch = async (...args) => {
      calls++;
      return fetch(...args);
    };
    await createModelClient('anthropic/claude-sonnet-4-5', { env: { ANTHROPIC_API_KEY: 'k' }, fetch: countingFetch });
    expect(calls).toBe(0);
  });
});
