/**
 * Record and replay. With a record path every exchange is appended as one JSON line
 * `{ "request": ModelRequest, "response": ModelResponse }`; `replay:<file>` answers call i with response i.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ModelError, type CompleteOptions, type ModelClient, type ModelRequest, type ModelResponse } from '../protocol/model.js';
import { defaultContextWindow } from './catalog.js';
import { describeJsonError, describeZodError, readUserFile } from './script-client.js';

export interface RecordedExchange {
  request: ModelRequest;
  response: ModelResponse;
}

const responseSchema = z.object({
  text: z.string(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), input: z.unknown().optional(), inputError: z.string().optional() })),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number(), cachedInputTokens: z.number() }),
  finishReason: z.string(),
  costUsd: z.number(),
});
const lineSchema = z.object({ request: z.record(z.string(), z.unknown()), response: responseSchema });

/** Wraps a client so each successful exchange is appended to `path` (JSONL); failures are not recorded. */
export function withRecording(client: ModelClient, path: string): ModelClient {
  let ready: Promise<unknown> | undefined;
  // Appends are chained so lines keep the order in which calls finished, even with concurrent calls.
  let writes: Promise<void> = Promise.resolve();
  return {
    spec: client.spec,
    contextWindow: client.contextWindow,
    ...(client.warm ? { warm: () => client.warm?.() } : {}),
    async complete(request: ModelRequest, options?: CompleteOptions): Promise<ModelResponse> {
      const response = await client.complete(request, options);
      ready ??= mkdir(dirname(path), { recursive: true });
      const line = `${JSON.stringify({ request, response } satisfies RecordedExchange)}\n`;
      const write = writes.then(async () => {
        await ready;
        await appendFile(path, line, 'utf8');
      });
      writes = write.catch(() => undefined);
      await write;
      return response;
    },
  };
}

export async function loadRecording(file: string): Promise<RecordedExchange[]> {
  const hint = 'Replay a file written with --record (one JSON object per line: { "request", "response" }).';
  const text = await readUserFile(file, 'recording', hint);
  const exchanges: RecordedExchange[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new ModelError('config', `The recording ${file} has a line that is not JSON (line ${index + 1}: ${describeJsonError(line, error)}).`, hint, { cause: error });
    }
    const parsed = lineSchema.safeParse(json);
    if (!parsed.success) {
      throw new ModelError('config', `The recording ${file} is malformed at line ${index + 1}: ${describeZodError(parsed.error)}.`, hint, { cause: parsed.error });
    }
    const { response } = parsed.data;
    // JSON drops `input: undefined`; put it back so replayed tool calls have the recorded shape.
    const toolCalls = response.toolCalls.map((call) => ({ ...call, input: call.input }));
    exchanges.push({ request: parsed.data.request as unknown as ModelRequest, response: { ...response, toolCalls } });
  });
  return exchanges;
}

/**
 * Replays a recording: call i gets response i, whatever the request. A request that differs from the
 * recorded one (say, after a prompt change) still gets the recorded answer; the run then shows whether the
 * agent copes. The recorded cost is replayed too, so budget decisions replay the same; nothing is spent.
 */
export async function createReplayClient(spec: string, file: string): Promise<ModelClient> {
  const exchanges = await loadRecording(file);
  let next = 0;
  return {
    spec,
    contextWindow: defaultContextWindow(),
    async complete(_request: ModelRequest, options: CompleteOptions = {}): Promise<ModelResponse> {
      if (options.signal?.aborted) {
        throw new ModelError('aborted', `The call to ${spec} was cancelled.`, 'The run was stopped on request; resume it when ready.');
      }
      const exchange = exchanges[next];
      if (exchange === undefined) {
        throw new ModelError('bad_response', `replay exhausted after ${exchanges.length} responses (${file})`, 'The run made more model calls than were recorded; record the run again.');
      }
      next++;
      const response = structuredClone(exchange.response);
      if (response.text) options.onTextDelta?.(response.text);
      return response;
    },
  };
}
