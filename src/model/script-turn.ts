/**
 * The turn format shared by the `script:` model and the HTTP fake in test/support/llm-server.ts,
 * so one script drives either the scripted model or the real SDK against the fake server.
 */
import { z } from 'zod';

const scriptToolCallSchema = z.union([
  z.strictObject({ name: z.string().min(1), input: z.record(z.string(), z.unknown()) }),
  /** Arguments exactly as the model would send them, e.g. broken JSON to exercise recovery. */
  z.strictObject({ name: z.string().min(1), rawArguments: z.string() }),
]);

const scriptUsageSchema = z.strictObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative().optional(),
});

export const scriptTurnSchema = z.strictObject({
  text: z.string().optional(),
  toolCalls: z.array(scriptToolCallSchema).optional(),
  usage: scriptUsageSchema.optional(),
});

export const scriptFileSchema = z.strictObject({ turns: z.array(scriptTurnSchema) });

export type ScriptToolCall = z.infer<typeof scriptToolCallSchema>;
export type ScriptUsage = z.infer<typeof scriptUsageSchema>;
export type ScriptTurn = z.infer<typeof scriptTurnSchema>;
export type ScriptFile = z.infer<typeof scriptFileSchema>;

/** The arguments of a scripted tool call as the JSON text a vendor would stream. */
export function scriptArgumentsText(call: ScriptToolCall): string {
  return 'rawArguments' in call ? call.rawArguments : JSON.stringify(call.input);
}

/** Rough token estimate (4 characters a token) so budgets work without a tokenizer. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
