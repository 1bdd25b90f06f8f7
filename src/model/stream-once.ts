/**
 * One attempt at one model step: stream it from the provider, collect the parts, and notice when the stream
 * stalls. It calls the provider's language model (the AI SDK's LanguageModelV3: its request and response
 * formats, SSE parsing and errors) directly rather than through `streamText`: one step at a time with our own
 * tools, retries and validation, the orchestration of `streamText` (steps, tool execution, telemetry, result
 * promises) only cost time, about twice the provider's own per call in a fresh process.
 */
import { InvalidResponseDataError, type LanguageModelV3, type LanguageModelV3Usage } from '@ai-sdk/provider';
import type { ModelRequest, ToolCall } from '../protocol/model.js';
import { toFunctionTools, toPrompt } from './convert.js';
import { listenForActivity } from './activity.js';
import { StallError } from './errors.js';
import { checkToolArguments } from './tool-input.js';

export interface AttemptInput {
  model: LanguageModelV3;
  request: ModelRequest;
  /** Add Anthropic cache breakpoints. */
  cache: boolean;
  signal: AbortSignal | undefined;
  onTextDelta: ((delta: string) => void) | undefined;
  /** Longest silence allowed once the provider has started answering. */
  stallTimeoutMs: number;
  /** Longest wait for the provider's first sign of life. */
  firstChunkTimeoutMs: number;
}

export interface AttemptUsage {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cacheReadTokens: number | undefined;
  cacheWriteTokens: number | undefined;
}

export interface AttemptOutput {
  text: string;
  toolCalls: ToolCall[];
  usage: AttemptUsage | undefined;
  finishReason: string;
}

function usageOf(usage: LanguageModelV3Usage): AttemptUsage {
  return {
    inputTokens: usage.inputTokens.total,
    outputTokens: usage.outputTokens.total,
    cacheReadTokens: usage.inputTokens.cacheRead,
    cacheWriteTokens: usage.inputTokens.cacheWrite,
  };
}

export async function streamOnce(input: AttemptInput): Promise<AttemptOutput> {
  const { request } = input;
  const controller = new AbortController();
  const onUserAbort = (): void => controller.abort(input.signal?.reason);
  input.signal?.addEventListener('abort', onUserAbort, { once: true });
  let stalledAfter: number | undefined;
  const arm = (ms: number): NodeJS.Timeout =>
    setTimeout(() => {
      stalledAfter = ms;
      controller.abort(new StallError(ms));
    }, ms);
  let timer = arm(input.firstChunkTimeoutMs);
  let started = false;
  // Any byte from the provider is a sign of life (see activity.ts): the first switches from the wait for an
  // answer to the stall timeout, each later one restarts it.
  const alive = (): void => {
    if (!started) {
      started = true;
      clearTimeout(timer);
      timer = arm(input.stallTimeoutMs);
    } else {
      timer.refresh();
    }
  };
  /** Whether the stream held anything the SDK understood: text, reasoning, a tool call, a finish with usage. */
  let parsed = false;
  /** Whether the provider said the answer was complete (its finish event). */
  let finished = false;
  const out: AttemptOutput = { text: '', toolCalls: [], usage: undefined, finishReason: 'unknown' };
  const stopListening = listenForActivity(controller.signal, alive);
  try {
    const { stream } = await input.model.doStream({
      prompt: toPrompt(request.system, request.messages, input.cache),
      tools: toFunctionTools(request.tools),
      ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
      abortSignal: controller.signal,
      includeRawChunks: false,
    });
    for await (const part of stream) {
      switch (part.type) {
        case 'text-delta':
          parsed = true;
          out.text += part.delta;
          input.onTextDelta?.(part.delta);
          break;
        case 'tool-call': {
          parsed = true;
          // Unusable arguments go back to the model as the call's result, to be tried again.
          const checked = checkToolArguments(request.tools, part.toolName, part.input);
          out.toolCalls.push(
            checked.ok
              ? { id: part.toolCallId, name: part.toolName, input: checked.input }
              : { id: part.toolCallId, name: part.toolName, input: undefined, inputError: checked.error },
          );
          break;
        }
        case 'finish':
          finished = true;
          out.usage = usageOf(part.usage);
          out.finishReason = part.finishReason.unified;
          // An empty answer still reports why it stopped and what it used; a stream of nothing readable
          // ends with neither (the providers call that finish reason "other").
          if (part.finishReason.unified !== 'other' || part.usage.inputTokens.total !== undefined) parsed = true;
          break;
        case 'error':
          throw part.error;
        default:
          // Reasoning and the starts and ends of text and tool input are content too; the rest (stream
          // start, response metadata) carries nothing we keep.
          if (part.type.startsWith('reasoning') || part.type.startsWith('text-') || part.type.startsWith('tool-input')) parsed = true;
          break;
      }
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    if (!parsed || !finished) {
      throw new InvalidResponseDataError({ data: undefined, message: parsed ? 'the answer ended before the provider said it was finished' : 'the provider answered but sent no events it could parse' });
    }
    return out;
  } catch (error) {
    controller.abort();
    if (stalledAfter !== undefined) throw new StallError(stalledAfter);
    throw error;
  } finally {
    stopListening();
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onUserAbort);
  }
}
