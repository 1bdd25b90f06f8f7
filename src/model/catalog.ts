/** The price and context-window catalog; the numbers live in catalog.json so they are updated as data. */
import { z } from 'zod';
import type { Usage } from '../protocol/model.js';
import catalogJson from './catalog.json' with { type: 'json' };

const priceSchema = z.object({
  provider: z.enum(['anthropic', 'openai']).optional(),
  contextWindow: z.number().int().positive(),
  /** Dollars per million tokens. */
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheRead: z.number().nonnegative(),
  cacheWrite: z.number().nonnegative().optional(),
});

const catalogSchema = z.object({ default: priceSchema, models: z.record(z.string(), priceSchema) });

export type ModelPrice = z.infer<typeof priceSchema>;

export interface CatalogEntry {
  /** The catalog id matched, or undefined when the default entry was used. */
  id: string | undefined;
  price: ModelPrice;
}

const catalog = catalogSchema.parse(catalogJson);

/** Prices of local and scripted models: nothing is spent. */
export const freePrice: ModelPrice = { ...catalog.default, input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

/**
 * Looks a model up by id (`claude-sonnet-4-5`, a dated `claude-sonnet-4-5-20250929`, or with its provider
 * prefix). Unknown models get the default entry, priced so that budgets still bite.
 */
export function lookupModel(modelId: string): CatalogEntry {
  const id = modelId.includes('/') ? modelId.slice(modelId.indexOf('/') + 1) : modelId;
  const undated = id.replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, '');
  for (const candidate of [id, undated]) {
    const price = catalog.models[candidate];
    if (price) return { id: candidate, price };
  }
  const prefix = Object.keys(catalog.models)
    .filter((key) => undated.startsWith(`${key}-`))
    .sort((a, b) => b.length - a.length)[0];
  if (prefix !== undefined) return { id: prefix, price: catalog.models[prefix] ?? catalog.default };
  return { id: undefined, price: catalog.default };
}

export function defaultContextWindow(): number {
  return catalog.default.contextWindow;
}

/**
 * Dollars for one call. Cached reads are part of usage.inputTokens; cache writes (Anthropic) are billed
 * at their own rate when the provider reports them.
 */
export function priceUsage(price: ModelPrice, usage: Usage, cacheWriteTokens = 0): number {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const written = Math.min(cacheWriteTokens, usage.inputTokens - cached);
  const fresh = usage.inputTokens - cached - written;
  const micro =
    fresh * price.input +
    cached * price.cacheRead +
    written * (price.cacheWrite ?? price.input) +
    usage.outputTokens * price.output;
  return micro / 1_000_000;
}
