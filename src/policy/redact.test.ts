import { describe, expect, it } from 'vitest';
import type { Gate, ModelClient, ModelRequest, PullRequest, RunStore } from '../protocol/index.js';
import { createRedactor, redactingModel, redactingStore } from './redact.js';

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

  it('a redacting store writes no secret through any method that stores text', async () => {
    const written: unknown[] = [];
    const record = (...args: unknown[]) => {
      written.push(args);
      return Promise.resolve(undefined);
    };
    const inner = new Proxy({}, { get: () => record }) as RunStore;
    const store = redactingStore(inner, redactor);
    const secret = 'tok-canary-123456';
    const pr = { id: 'pr-1', body: `uses ${secret}`, title: secret } as unknown as PullRequest;
    const gate = { id: 'g-1', run: 'r-1', action: 'exec', subject: `curl -H "Authorization: ${secret}"`, status: 'pending' } as unknown as Gate;
    await store.createRun({ id: 'r-1', goal: secret, repo: '/r', base: 'main', model: 'm' });
    await store.updateRun('r-1', { question: secret });
    await store.appendEvent('r-1', { type: 'notice', message: secret });
    await store.savePlan('r-1', { summary: secret, steps: [], acceptance: [] });
    await store.addDecision('r-1', { action: secret, by: 'agent', autonomous: true, reason: secret });
    await store.createPullRequest(pr);
    await store.updatePullRequest(pr);
    await store.createGate(gate);
    await store.transitionGate(gate, 'pending');
    await store.saveConversation('r-1', { role: 'coder', messages: [{ role: 'user', content: secret }], results: [{ callId: 'c', name: 'shell', output: secret }] });
    expect(written).toHaveLength(10);
    expect(JSON.stringify(written)).not.toContain(secret);
    // Positive control: what went in held the secret.
    expect(JSON.stringify([pr, gate])).toContain(secret);
  });
});

