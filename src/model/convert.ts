/** Our protocol's messages and tools in the AI SDK's shapes. */
import { jsonSchema, tool, type ModelMessage, type SystemModelMessage, type ToolSet } from 'ai';
import type { ChatMessage, ToolSpec } from '../protocol/model.js';
import { schemaValidator } from './tool-input.js';

type ProviderOptions = NonNullable<SystemModelMessage['providerOptions']>;

/** Anthropic prompt caching: a breakpoint after the system prompt (with the tools) and after the newest message. */
const anthropicCache: ProviderOptions = { anthropic: { cacheControl: { type: 'ephemeral' } } };

/** Tools as schemas only: no execute function, so the SDK stops after one step and we run the tools. */
export function toToolSet(tools: ToolSpec[]): ToolSet {
  const set: ToolSet = {};
  for (const spec of tools) {
    const validate = schemaValidator(spec.inputSchema);
    const inputSchema = jsonSchema<unknown>(spec.inputSchema as Parameters<typeof jsonSchema>[0], { validate });
    set[spec.name] = tool({ description: spec.description, inputSchema });
  }
  return set;
}

export function toSystem(system: string, cache: boolean): string | SystemModelMessage | undefined {
  if (system === '') return undefined;
  return cache ? { role: 'system', content: system, providerOptions: anthropicCache } : system;
}

export function toModelMessages(messages: ChatMessage[], cache: boolean): ModelMessage[] {
  const out: ModelMessage[] = [];
  for (const message of messages) {
    if (message.role === 'user') {
      out.push({ role: 'user', content: message.content });
    } else if (message.role === 'assistant') {
      const calls = message.toolCalls ?? [];
      // Vendors reject empty assistant turns; dropping one leaves adjacent user turns, which they accept.
      if (message.content === '' && calls.length === 0) continue;
      out.push({
        role: 'assistant',
        content: [
          ...(message.content === '' ? [] : [{ type: 'text' as const, text: message.content }]),
          // A call whose arguments were unusable is echoed with `{}`: vendors require an object here.
          ...calls.map((call) => ({ type: 'tool-call' as const, toolCallId: call.id, toolName: call.name, input: call.input ?? {} })),
        ],
      });
    } else {
      out.push({
        role: 'tool',
        content: message.results.map((result) => ({
          type: 'tool-result' as const,
          toolCallId: result.callId,
          toolName: result.name,
          output: result.isError ? { type: 'error-text' as const, value: result.output } : { type: 'text' as const, value: result.output },
        })),
      });
    }
  }
  const last = out.at(-1);
  if (cache && last) last.providerOptions = anthropicCache;
  return out;
}
