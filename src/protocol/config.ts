/** Slipway's configuration: `.slipway/config.json` in the repository and in SLIPWAY_HOME, then flags. */
import { z } from 'zod';
import { policyRulesSchema, type PolicyLayers } from './policy.js';

export const DEFAULT_MODEL = 'anthropic/claude-sonnet-4-5';

export const configSchema = z
  .object({
    model: z.string().min(1).describe('Model spec: anthropic/<m>, openai/<m>, openai-compatible/<m>, script:<file>'),
    baseUrl: z.string().url().describe('Base URL for openai-compatible servers (Ollama, vLLM, llama.cpp)'),
    test: z
      .object({
        command: z.string().min(1).describe('Test command, run from the repository root in the sandbox'),
        install: z.string().min(1).describe('Dependency install command, run once per clone'),
        timeoutSeconds: z.number().int().positive().describe('Time limit of one test run'),
      })
      .partial()
      .strict(),
    commandTimeoutSeconds: z.number().int().positive().describe('Time limit of one shell command'),
    budgets: z
      .object({
        steps: z.number().int().positive().describe('Model calls per run'),
        tokens: z.number().int().positive().describe('Input plus output tokens per run'),
        dollars: z.number().positive().describe('Model spend per run'),
        wallMinutes: z.number().positive().describe('Wall time per run'),
      })
      .partial()
      .strict(),
    verifyRounds: z.number().int().min(1).max(10).describe('Rounds of fix-and-verify before escalating'),
    approvePlan: z.boolean().describe('Ask a person to approve the plan before any code is written'),
    modelGiveUpSeconds: z.number().positive().describe('Give up on a model that stays unreachable after this long'),
    author: z.object({ name: z.string().min(1), email: z.string().min(3) }).strict(),
    policy: policyRulesSchema.describe('Rules {kind, pattern, action}; a repository may only tighten the defaults'),
  })
  .partial()
  .strict();

export type SlipwayConfig = z.infer<typeof configSchema>;

export interface EffectiveConfig {
  model: string;
  baseUrl?: string;
  test: { command?: string; install?: string; timeoutSeconds: number };
  commandTimeoutSeconds: number;
  budgets: { steps: number; tokens: number; dollars: number; wallMinutes: number };
  verifyRounds: number;
  /** A gate after planning: a person approves the plan before the coder starts. */
  approvePlan: boolean;
  modelGiveUpSeconds: number;
  author: { name: string; email: string };
  /** Policy rules by layer; src/policy puts them after the defaults and drops repository rules that loosen. */
  policy: PolicyLayers;
}

export const DEFAULT_CONFIG: EffectiveConfig = {
  model: DEFAULT_MODEL,
  test: { timeoutSeconds: 600 },
  commandTimeoutSeconds: 120,
  budgets: { steps: 80, tokens: 3_000_000, dollars: 5, wallMinutes: 30 },
  verifyRounds: 3,
  approvePlan: false,
  modelGiveUpSeconds: 60,
  author: { name: 'Slipway', email: 'slipway@localhost' },
  policy: { repository: [], user: [] },
};

/**
 * Later layers win: defaults < repository < user < flags. `policy` keys are ignored here, because a layer's
 * rules need to be known by source (a repository may only tighten): use mergeConfigLayers.
 */
export function mergeConfig(...layers: SlipwayConfig[]): EffectiveConfig {
  const out: EffectiveConfig = structuredClone(DEFAULT_CONFIG);
  for (const layer of layers) {
    if (layer.model) out.model = layer.model;
    if (layer.baseUrl) out.baseUrl = layer.baseUrl;
    if (layer.test) out.test = { ...out.test, ...layer.test };
    if (layer.commandTimeoutSeconds) out.commandTimeoutSeconds = layer.commandTimeoutSeconds;
    if (layer.budgets) out.budgets = { ...out.budgets, ...layer.budgets };
    if (layer.verifyRounds) out.verifyRounds = layer.verifyRounds;
    if (layer.approvePlan !== undefined) out.approvePlan = layer.approvePlan;
    if (layer.modelGiveUpSeconds) out.modelGiveUpSeconds = layer.modelGiveUpSeconds;
    if (layer.author) out.author = layer.author;
  }
  return out;
}

/** mergeConfig of the three layers, with each layer's policy rules kept under its source. */
export function mergeConfigLayers(layers: { repository: SlipwayConfig; user: SlipwayConfig; flags?: SlipwayConfig }): EffectiveConfig {
  const out = mergeConfig(layers.repository, layers.user, layers.flags ?? {});
  out.policy = { repository: layers.repository.policy ?? [], user: layers.user.policy ?? [] };
  return out;
}
