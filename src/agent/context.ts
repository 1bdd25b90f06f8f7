/**
 * Keeps a conversation under the model's context window: when the estimate passes the threshold, the oldest
 * tool outputs are replaced by a short marker (the calls stay, so every result still answers its call).
 */
import type { ChatMessage } from '../protocol/index.js';

const CHARS_PER_TOKEN = 4;
const THRESHOLD = 0.6;
const KEEP_RECENT = 6;
const ELIDED = '[output elided to keep the conversation within the context window; call the tool again if needed]';

export function estimateTokens(messages: ChatMessage[]): number {
  let chars = 0;
  for (const m of messages) {
    if (m.role === 'tool') for (const r of m.results) chars += r.output.length + 50;
    else {
      chars += m.content.length;
      if (m.role === 'assistant') for (const c of m.toolCalls ?? []) chars += JSON.stringify(c.input ?? '').length + 50;
    }
  }
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** Elides old tool outputs in place until the estimate fits; returns how many were elided. */
export function fitContext(messages: ChatMessage[], contextWindow: number): number {
  const limit = contextWindow * THRESHOLD;
  let elided = 0;
  for (let i = 0; i < messages.length - KEEP_RECENT && estimateTokens(messages) > limit; i++) {
    const m = messages[i]!;
    if (m.role !== 'tool') continue;
    for (const r of m.results) {
      if (r.output !== ELIDED && r.output.length > ELIDED.length) {
        r.output = ELIDED;
        elided++;
      }
    }
  }
  return elided;
}
