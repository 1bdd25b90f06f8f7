/**
 * `script:<file>`: a model that plays back a JSON file of turns, one per call, with no network. Every call
 * on one client (planner, coder, verifier) takes the next turn, so one client holds one sequence.
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { ModelError, type CompleteOptions, type ModelClient, type ModelRequest, type ModelResponse, type ToolCall } from '../protocol/model.js';
import { defaultContextWindow } from './catalog.js';
import { estimateTokens, scriptArgumentsText, scriptFileSchema, type ScriptTurn } from './script-turn.js';
import { checkToolArguments } from './tool-input.js';

const formatHint =
  'Fix the file. The format is { "turns": [ { "text"?: string, "toolCalls"?: [ { "name": string, "input": object } ], "usage"?: { "inputTokens": n, "outputTokens": n } } ] }.';

/** "line 3, column 5" for a character offset, so JSON errors point at the spot. */
export function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

export function describeJsonError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  return position === undefined ? message : `${lineAndColumn(text, Number(position))}: ${message}`;
}

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Reads a file the user named; a missing or unreadable file is a configuration error. */
export async function readUserFile(file: string, what: string, hint: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error && error.code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(error)})`;
    throw new ModelError('config', `The ${what} file ${file} ${reason}.`, hint, { cause: error });
  }
}

export async function loadScript(file: string): Promise<ScriptTurn[]> {
  const text = await readUserFile(file, 'script', 'Check the path after "script:"; relative paths are resolved from the working directory.');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelError('config', `The script file ${file} is not valid JSON (${describeJsonError(text, error)}).`, formatHint, { cause: error });
  }
  const parsed = scriptFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ModelError('config', `The script file ${file} is malformed: ${describeZodError(parsed.error)}.`, formatHint, { cause: parsed.error });
  }
  return parsed.data.turns;
}

function requestChars(request: ModelRequest): number {
  return request.system.length + JSON.stringify(request.messages).length + JSON.stringify(request.tools).length;
}

export async function createScriptClient(spec: string, file: string): Promise<ModelClient> {
  const turns = await loadScript(file);
  let next = 0;
  let callIds = 0;

  async function complete(request: ModelRequest, options: CompleteOptions = {}): Promise<ModelResponse> {
    if (options.signal?.aborted) {
      throw new ModelError('aborted', `The call to ${spec} was cancelled.`, 'The run was stopped on request; resume it when ready.');
    }
    const turn = turns[next];
    if (turn === undefined) {
      throw new ModelError(
        'bad_response',
        `script exhausted after ${turns.length} turns (${file})`,
        `The agent asked for more model calls than ${file} scripts; add turns or check why the run needs another call.`,
      );
    }
    next++;
    const toolCalls: ToolCall[] = (turn.toolCalls ?? []).map((call) => {
      const id = `call_${++callIds}`;
      const check = checkToolArguments(request.tools, call.name, scriptArgumentsText(call));
      return check.ok ? { id, name: call.name, input: check.input } : { id, name: call.name, input: undefined, inputError: check.error };
    });
    const text = turn.text ?? '';
    if (text) options.onTextDelta?.(text);
    const output = text + (turn.toolCalls ?? []).map((c) => c.name + scriptArgumentsText(c)).join('');
    const usage = {
      inputTokens: turn.usage?.inputTokens ?? Math.ceil(requestChars(request) / 4),
      outputTokens: turn.usage?.outputTokens ?? estimateTokens(output),
      cachedInputTokens: turn.usage?.cachedInputTokens ?? 0,
    };
    return { text, toolCalls, usage, finishReason: toolCalls.length ? 'tool-calls' : 'stop', costUsd: 0 };
  }

  return { spec, contextWindow: defaultContextWindow(), complete };
}
