import { describe, expect, it } from 'vitest';
import { lookupModel, priceUsage } from './catalog.js';

describe('price catalog', () => {
  it.each(['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5', 'gpt-5', 'gpt-5-mini', 'gpt-4.1', 'gpt-4o', 'o4-mini'])('knows %s', (id) => {
    const entry = lookupModel(id);
    expect(entry.id).toBe(id);
    expect(entry.price.output).toBeGreaterThan(entry.price.input);
    expect(entry.price.cacheRead).toBeLessThan(entry.price.input);
  });

  it('matches dated and prefixed ids to their family, longest name first', () => {
    expect(lookupModel('claude-sonnet-4-5-20250929').id).toBe('claude-sonnet-4-5');
    expect(lookupModel('claude-sonnet-4-20250514').id).toBe('claude-sonnet-4');
    expect(lookupModel('gpt-5-mini-2025-08-07').id).toBe('gpt-5-mini');
    expect(lookupModel('anthropic/claude-haiku-4-5').id).toBe('claude-haiku-4-5');
    expect(lookupModel('gpt-4o-mini').id).toBe('gpt-4o-mini');
  });

  it('falls back to a default that still costs money', () => {
    const entry = lookupModel('some-new-model');
    expect(entry.id).toBeUndefined();
    expect(entry.price.input).toBeGreaterThan(0);
  });

  it('prices fresh, cached and cache-written input separately', () => {
    const price = lookupModel('claude-sonnet-4-5').price;
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000, cachedInputTokens: 500_000 };
    expect(priceUsage(price, usage)).toBeCloseTo(1.5 + 0.15 + 15, 10);
    expect(priceUsage(price, usage, 500_000)).toBeCloseTo(0.15 + 1.875 + 15, 10);
  });
});
