/**
 * Our protocol's messages and tools in the shapes the AI SDK's providers take (their language model
 * interface, LanguageModelV3): the prompt and the function tools of one call.
 */
import type { LanguageModelV3FunctionTool, LanguageModelV3Message, LanguageModelV3Prompt, SharedV3ProviderOptions } from '@ai-sdk/provider';
import type { ChatMessage, ToolSpec } from '../protocol/model.js';

/** Anthropic prompt caching: a breakpoint after the system prompt (with the tools) and after the newest message. */
const anthropicCache: SharedV3ProviderOptions = { anthropic: { cacheControl: { type: 'ephemeral' } } };

/** Tools as schemas only: we run them ourselves. */
export function toFunctionTools(tools: ToolSpec[]): LanguageModelV3FunctionTool[] {
  return tools.map((spec) => ({ type: 'function', name: spec.name, description: spec.description, inputSchema: spec.inputSchema }));
}

export function toPrompt(system: string, messages: ChatMessage[], cache: boolean): LanguageModelV3Prompt {
  const out: LanguageModelV3Message[] = [];
  if (system !== '') out.push(cache ? { role: 'system', content: system, providerOptions: anthropicCache } : { role: 'system', content: system });
  for (const message of messages) {
    if (message.role === 'user') {
      out.push({ role: 'user', content: [{ type: 'text', text: message.content }] });
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
  if (cache && last && last.role !== 'system') last.providerOptions = anthropicCache;
  return out;
}
