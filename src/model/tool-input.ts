/**
 * Checks tool-call arguments against a tool's JSON Schema. Bad arguments are not fatal: they become a
 * ToolCall with `inputError`, which the agent hands back to the model so it can try again.
 */
import { z } from 'zod';
import type { JsonSchema, ToolSpec } from '../protocol/model.js';

type Validation = { success: true; value: unknown } | { success: false; error: Error };
type Validator = (value: unknown) => Validation;

const validators = new WeakMap<JsonSchema, Validator>();

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('; ');
}

/** A validator for the SDK's jsonSchema(); accepts everything when zod cannot read the schema. */
export function schemaValidator(schema: JsonSchema): Validator {
  const cached = validators.get(schema);
  if (cached) return cached;
  let zodSchema: z.ZodType | undefined;
  try {
    zodSchema = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // A schema zod cannot translate is still valid for the vendor; skip local checking rather than fail.
    zodSchema = undefined;
  }
  const validator: Validator = (value) => {
    if (!zodSchema) return { success: true, value };
    const result = zodSchema.safeParse(value);
    // Return the value as sent: the vendor's schema semantics, not zod's transformations, apply.
    return result.success ? { success: true, value } : { success: false, error: new Error(formatIssues(result.error.issues)) };
  };
  validators.set(schema, validator);
  return validator;
}

const retryAdvice = 'Call the tool again with arguments that are one JSON object matching its input schema.';

export function invalidJsonMessage(toolName: string, detail: string): string {
  return `The arguments for tool "${toolName}" are not valid JSON (${detail}). ${retryAdvice}`;
}

export function schemaMismatchMessage(toolName: string, detail: string): string {
  return `The arguments for tool "${toolName}" do not match its input schema: ${detail}. ${retryAdvice}`;
}

export function unknownToolMessage(toolName: string, available: string[]): string {
  const list = available.length ? available.join(', ') : 'none';
  return `There is no tool named "${toolName}". Available tools: ${list}.`;
}

export type ToolArgumentsCheck = { ok: true; input: unknown } | { ok: false; error: string };

/** Parses and validates raw arguments the way the SDK does for vendor responses (empty text means `{}`). */
export function checkToolArguments(tools: ToolSpec[], toolName: string, rawArguments: string): ToolArgumentsCheck {
  const tool = tools.find((t) => t.name === toolName);
  if (!tool) return { ok: false, error: unknownToolMessage(toolName, tools.map((t) => t.name)) };
  let input: unknown;
  try {
    input = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
  } catch (error) {
    return { ok: false, error: invalidJsonMessage(toolName, error instanceof Error ? error.message : String(error)) };
  }
  const result = schemaValidator(tool.inputSchema)(input);
  return result.success ? { ok: true, input } : { ok: false, error: schemaMismatchMessage(toolName, result.error.message) };
}
