/** One attempt at one model step: stream it, collect the parts, and notice when the stream stalls. */
import {
  InvalidResponseDataError,
  InvalidToolInputError,
  JSONParseError,
  NoSuchToolError,
  TypeValidationError,
  streamText,
  type LanguageModel,
  type LanguageModelUsage,
} from 'ai';
import type { ModelRequest, ToolCall } from '../protocol/model.js';
import { toModelMessages, toSystem, toToolSet } from './convert.js';
import { withActivity } from './activity.js';
import { StallError } from './errors.js';
import { invalidJsonMessage, schemaMismatchMessage, unknownToolMessage } from './tool-input.js';

export interface AttemptInput {
  model: LanguageModel;
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

export interface AttemptOutput {
  text: string;
  toolCalls: ToolCall[];
  usage: LanguageModelUsage | undefined;
  finishReason: string;
}

function causeMessage(error: { message: string; cause?: unknown }): string {
  return error.cause instanceof Error ? error.cause.message : error.message;
}

/** The message the model gets back for a call the SDK could not parse or validate. */
function describeInvalidCall(error: unknown, toolName: string, request: ModelRequest): string {
  if (NoSuchToolError.isInstance(error)) return unknownToolMessage(toolName, request.tools.map((t) => t.name));
  if (InvalidToolInputError.isInstance(error)) {
    const cause = error.cause;
    if (TypeValidationError.isInstance(cause)) return schemaMismatchMessage(toolName, causeMessage(cause));
    if (JSONParseError.isInstance(cause)) return invalidJsonMessage(toolName, causeMessage(cause));
  }
  const detail = error instanceof Error ? error.message : String(error);
  return `The call to tool "${toolName}" could not be used: ${detail}`;
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
  const out: AttemptOutput = { text: '', toolCalls: [], usage: undefined, finishReason: 'unknown' };
  try {
    await withActivity(alive, async () => {
      const result = streamText({
        model: input.model,
        system: toSystem(request.system, input.cache),
        messages: toModelMessages(request.messages, input.cache),
        tools: toToolSet(request.tools),
        maxOutputTokens: request.maxOutputTokens,
        // Our loop in sdk-client.ts retries, with stall detection and spend-limit awareness the SDK lacks.
        maxRetries: 0,
        abortSignal: controller.signal,
        // Errors arrive as stream parts and are handled below; the default handler would print them.
        onError: () => {},
      });
      for await (const part of result.fullStream) {
        switch (part.type) {
          case 'text-delta':
            parsed = true;
            out.text += part.text;
            input.onTextDelta?.(part.text);
            break;
          case 'tool-call':
            parsed = true;
            if (part.invalid) {
              const inputError = describeInvalidCall(part.error, part.toolName, request);
              out.toolCalls.push({ id: part.toolCallId, name: part.toolName, input: undefined, inputError });
            } else {
              out.toolCalls.push({ id: part.toolCallId, name: part.toolName, input: part.input });
            }
            break;
          case 'finish':
            out.usage = part.totalUsage;
            out.finishReason = part.finishReason;
            // An empty answer still reports why it stopped and what it used; a stream of nothing readable
            // ends with neither (the SDK calls that finish reason "other").
            if (part.finishReason !== 'other' || part.totalUsage?.inputTokens !== undefined) parsed = true;
            break;
          case 'error':
            throw part.error;
          default:
            // Reasoning and the starts and ends of text and tool input are content too; tool-error parts repeat
            // the invalid tool calls handled above; the rest (start, steps) carries nothing we keep.
            if (part.type.startsWith('reasoning') || part.type.startsWith('text-') || part.type.startsWith('tool-input')) parsed = true;
            break;
        }
      }
    });
    if (controller.signal.aborted) throw controller.signal.reason;
    if (!parsed) {
      throw new InvalidResponseDataError({ data: undefined, message: 'the provider answered but sent no events it could parse' });
    }
    return out;
  } catch (error) {
    controller.abort();
    if (stalledAfter !== undefined) throw new StallError(stalledAfter);
    throw error;
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onUserAbort);
  }
}
