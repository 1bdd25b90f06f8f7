import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../protocol/index.js';
import { Budget } from './budget.js';
import { estimateTokens, fitContext } from './context.js';
import { Escalation } from './errors.js';
import { Supervisor } from './supervisor.js';

const response = (inputTokens: number, outputTokens: number, costUsd = 0) => ({
  text: '',
  toolCalls: [],
  usage: { inputTokens, outputTokens, cachedInputTokens: 0 },
  finishReason: 'tool-calls',
  costUsd,
});

describe('budget', () => {
  it('escalates at each limit, before the call that would pass it', () => {
    const steps = new Budget({ steps: 2, tokens: 1e9, dollars: 100, wallMinutes: 60 });
    steps.check();
    steps.add(response(1, 1));
    steps.check();
    steps.add(response(1, 1));
    expect(() => steps.check()).toThrow(/2 model calls \(limit 2\)/);
    const dollars = new Budget({ steps: 100, tokens: 1e9, dollars: 0.5, wallMinutes: 60 });
    dollars.add(response(1, 1, 0.6));
    expect(() => dollars.check()).toThrow(Escalation);
    let now = 0;
    const wall = new Budget({ steps: 100, tokens: 1e9, dollars: 1, wallMinutes: 1 }, () => now);
    now = 61_000;
    expect(() => wall.check()).toThrow(/minutes \(limit 1\)/);
  });
});

describe('supervisor', () => {
  it('escalates when the same call returns the same result three times', () => {
    const s = new Supervisor();
    s.record('read_file', { path: 'a' }, 'x', false);
    s.record('read_file', { path: 'a' }, 'y', false); // a different result is progress
    s.record('read_file', { path: 'a' }, 'x', false);
    expect(() => s.record('read_file', { path: 'a' }, 'x', false)).toThrow(/same read_file call returned the same result 3 times/);
  });

  it('escalates after five failed edits in a row, and resets on success', () => {
    const s = new Supervisor();
    for (let i = 0; i < 4; i++) s.record('edit_file', { i }, `not found ${i}`, true);
    s.record('edit_file', { ok: 1 }, 'Edited', false);
    for (let i = 0; i < 4; i++) s.record('edit_file', { j: i }, `not found ${i}`, true);
    expect(() => s.record('edit_file', { j: 9 }, 'not found 9', true)).toThrow(/5 edits in a row failed/);
  });

  it('escalates when failing tests do not move', () => {
    const s = new Supervisor();
    const out = (n: number) => `exit code 1; 1 passed, 1 failed\nFailing tests:\n  - t\n--- output ---\nrun ${n}`;
    for (let i = 0; i < 3; i++) s.record('run_tests', { n: i }, out(i), true);
    expect(() => s.record('run_tests', { n: 9 }, out(9), true)).toThrow(/tests failed the same way 4 runs in a row/);
  });
});

describe('context', () => {
  it('elides the oldest tool outputs, keeping every call answered', () => {
    const big = 'x'.repeat(40_000);
    const messages: ChatMessage[] = [{ role: 'user', content: 'goal' }];
    for (let i = 0; i < 10; i++) {
      messages.push({ role: 'assistant', content: '', toolCalls: [{ id: `c${i}`, name: 'read_file', input: { i } }] });
      messages.push({ role: 'tool', results: [{ callId: `c${i}`, name: 'read_file', output: big }] });
    }
    const before = estimateTokens(messages);
    const elided = fitContext(messages, 100_000);
    expect(elided).toBeGreaterThan(0);
    expect(estimateTokens(messages)).toBeLessThan(before);
    expect(estimateTokens(messages)).toBeLessThanOrEqual(60_000);
    const last = messages.at(-1)!;
    expect(last.role === 'tool' && last.results[0]!.output).toBe(big); // recent results stay whole
    expect(messages.filter((m) => m.role === 'tool')).toHaveLength(10);
  });
});
