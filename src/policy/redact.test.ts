import { describe, expect, it } from 'vitest';
import type { ModelClient, ModelRequest } from '../protocol/index.js';
import { createRedactor, redactingModel } from './redact.js';

describe('redaction', () => {
  const redactor = createRedactor({ MY_SERVICE_TOKEN: 'tok-canary-123456', PATH: '/usr/bin:/bin', SHORT_KEY: 'abc' });

  it('masks the values of secret variables and known credential shapes', () => {
    const text = [
      'token tok-canary-123456 here',
      'sk-ant-api03-abcdefghijklmnopqrstuvwxyz',
      'sk-proj-abcdefghijklmnopqrstuvwxyz012345',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'AKIAABCDEFGHIJKLMNOP',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    const out = redactor.redact(text);
    expect(out).not.toMatch(/tok-canary|sk-ant-api03-abc|sk-proj-abc|ghp_abc|AKIAABC|b3BlbnNzaC1rZXk/);
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('[REDACTED:github-token]');
  });

  it('leaves ordinary text, short values and non-secret variables alone', () => {
    expect(redactor.redact('PATH is /usr/bin:/bin; abc; skip-ant')).toBe('PATH is /usr/bin:/bin; abc; skip-ant');
  });

  it('redacts every string of a request before the model client sees it', async () => {
    let seen: ModelRequest | null = null;
    const inner: ModelClient = {
      spec: 'x',
      contextWindow: 1000,
      complete: async (req) => {
        seen = req;
        return { text: '', toolCalls: [], usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 }, finishReason: 'stop', costUsd: 0 };
      },
    };
    const original: ModelRequest = {
      role: 'coder',
      system: 's',
      tools: [],
      messages: [{ role: 'tool', results: [{ callId: 'c', name: 'shell', output: 'env: MY_SERVICE_TOKEN=tok-canary-123456' }] }],
    };
    await redactingModel(inner, redactor).complete(original);
    expect(JSON.stringify(seen)).not.toContain('tok-canary-123456');
    expect(JSON.stringify(original)).toContain('tok-canary-123456'); // the caller's copy is untouched
  });
});
