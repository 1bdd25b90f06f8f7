/** What the agent exchanges with a language model; vendor details stay in src/model. */
import { HintedError } from './errors.js';

export interface ToolCall {
  id: string;
  name: string;
  /** Parsed arguments; `undefined` when the model sent arguments that are not valid JSON. */
  input: unknown;
  /** Set when the arguments could not be parsed: goes back to the model as a recoverable error. */
  inputError?: string;
}

export interface ToolResult {
  callId: string;
  name: string;
  output: string;
  isError?: boolean;
}

export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; results: ToolResult[] };

/** JSON Schema of a tool's input object, as the vendors take it. */
export type JsonSchema = Record<string, unknown>;

export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: JsonSchema;
}

export type ModelRole = 'planner' | 'coder' | 'verifier';

export interface ModelRequest {
  role: ModelRole;
  system: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxOutputTokens?: number;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (a subset of inputTokens). */
  cachedInputTokens: number;
}

export interface ModelResponse {
  text: string;
  toolCalls: ToolCall[];
  usage: Usage;
  finishReason: string;
  /** Dollars for this call from the price catalog; 0 for local models. */
  costUsd: number;
}

export interface CompleteOptions {
  signal?: AbortSignal;
  /** Streamed text as it arrives, for live progress. */
  onTextDelta?: (delta: string) => void;
}

export interface ModelClient {
  /** The spec the user gave, e.g. `anthropic/claude-sonnet-4-5`. */
  readonly spec: string;
  /** Context window in tokens, from the catalog (a safe default when unknown). */
  readonly contextWindow: number;
  complete(request: ModelRequest, options?: CompleteOptions): Promise<ModelResponse>;
  /** Loads what the first call needs (HTTP client, ...), so a caller can overlap it with other work. */
  warm?(): void;
}

export type ModelErrorKind =
  | 'config' // missing key, unknown provider, malformed script file
  | 'auth'
  | 'unknown_model'
  | 'rate_limit' // retried until given up
  | 'spend_limit' // never retried
  | 'unreachable'
  | 'timeout'
  | 'bad_response'
  | 'aborted';

/** A model failure that ends the run. `hint` says what the user should do next. */
export class ModelError extends HintedError {
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
    this.name = 'ModelError';
  }
}
