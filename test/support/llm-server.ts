/**
 * A fake LLM vendor at the HTTP wire: OpenAI Responses, OpenAI chat completions and Anthropic Messages,
 * streaming (SSE) and not, so the real AI SDK code paths run in tests. Turns use the `script:` format.
 *
 *   const server = await startLlmServer();
 *   server.reply({ text: 'hi', toolCalls: [{ name: 'read_file', input: { path: 'a' } }] });
 *   server.fail({ status: 429, headers: { 'retry-after': '0' } });
 *
 * Every request of any vendor takes the next queued action. With nothing queued it answers 500 with
 * `x-should-retry: false` and says so in the body, so a missing reply fails the test quickly and clearly.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateTokens, scriptArgumentsText, type ScriptTurn } from '../../src/model/script-turn.js';

export type Vendor = 'openai-responses' | 'openai-chat' | 'anthropic';

export interface RecordedRequest {
  method: string;
  path: string;
  vendor: Vendor | undefined;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: unknown;
  rawBody: string;
  /** Epoch milliseconds (fractional) when the whole request had arrived, and when the answer was sent. */
  receivedAt: number;
  answeredAt?: number;
}

export interface LlmFailure {
  status: number;
  headers?: Record<string, string>;
  /** Sent as is (objects as JSON); without it a vendor-shaped error body is built from code and message. */
  body?: unknown;
  /** Vendor error code/type, e.g. `insufficient_quota` (OpenAI) or `billing_error` (Anthropic). */
  code?: string;
  message?: string;
}

type Action =
  | { kind: 'reply'; turn: ScriptTurn }
  | { kind: 'fail'; failure: LlmFailure }
  | { kind: 'drop'; afterChunks: number; turn: ScriptTurn; then: 'destroy' | 'hang' }
  | { kind: 'hang' }
  | { kind: 'slow'; turn: ScriptTurn; keepAlives: number; everyMs: number }
  | { kind: 'garbage'; body: string };

export interface LlmServer {
  url: string;
  openaiBaseUrl: string;
  anthropicBaseUrl: string;
  requests: RecordedRequest[];
  /** Queue one turn; returns the server for chaining. */
  reply(turn: ScriptTurn): LlmServer;
  /** Queue many turns, in the format of a `script:` file's `turns`. */
  turns(turns: ScriptTurn[]): LlmServer;
  fail(failure: LlmFailure): LlmServer;
  /** Start a streamed answer, send `afterChunks` SSE events, then destroy the socket. */
  dropStream(options: { afterChunks: number; turn?: ScriptTurn }): LlmServer;
  /**
   * Open a streamed answer, send `keepAlives` keep-alives `everyMs` apart (Anthropic's ping event, an SSE
   * comment for OpenAI's APIs), then the whole answer: a slow provider that is alive all along.
   */
  slowStream(options: { turn: ScriptTurn; keepAlives: number; everyMs: number }): LlmServer;
  /** Start a streamed answer, send `afterChunks` SSE events, then go silent with the connection open. */
  stallStream(options: { afterChunks: number; turn?: ScriptTurn }): LlmServer;
  /** Accept the request and never answer. */
  hang(): LlmServer;
  /** Answer 200 with a body that is not JSON (nor valid SSE JSON). */
  garbage(body?: string): LlmServer;
  /** Actions queued and not yet consumed. */
  pending(): number;
  close(): Promise<void>;
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function vendorOf(path: string): Vendor | undefined {
  if (path.endsWith('/responses')) return 'openai-responses';
  if (path.endsWith('/chat/completions')) return 'openai-chat';
  if (path.endsWith('/messages')) return 'anthropic';
  return undefined;
}

function errorBody(vendor: Vendor | undefined, status: number, code: string | undefined, message: string): unknown {
  const type = code ?? errorTypes[status] ?? 'api_error';
  if (vendor === 'anthropic') return { type: 'error', error: { type, message } };
  return { error: { message, type, param: null, code: code ?? null } };
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Text split after whitespace, so a sentence streams as several deltas. */
function words(text: string): string[] {
  return text.split(/(?<=\s)/).filter((w) => w.length > 0);
}

interface Exchange {
  turn: ScriptTurn;
  model: string;
  n: number;
  inputTokens: number;
  outputTokens: number;
  cached: number;
}

function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

function responsesOutput(x: Exchange): Record<string, unknown>[] {
  const output: Record<string, unknown>[] = [];
  if (x.turn.text) {
    const content = [{ type: 'output_text', text: x.turn.text, annotations: [], logprobs: [] }];
    output.push({ type: 'message', id: `msg_${x.n}`, status: 'completed', role: 'assistant', content });
  }
  (x.turn.toolCalls ?? []).forEach((call, i) => {
    const args = scriptArgumentsText(call);
    const ids = { id: `fc_${x.n}_${i + 1}`, call_id: `call_${x.n}_${i + 1}` };
    output.push({ type: 'function_call', ...ids, name: call.name, arguments: args, status: 'completed' });
  });
  return output;
}

function responsesBody(x: Exchange, output: unknown[], status: string): Record<string, unknown> {
  const usage = {
    input_tokens: x.inputTokens,
    input_tokens_details: { cached_tokens: x.cached },
    output_tokens: x.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: x.inputTokens + x.outputTokens,
  };
  const created_at = Math.floor(Date.now() / 1000);
  return { id: `resp_${x.n}`, object: 'response', created_at, model: x.model, status, output, usage, error: null, incomplete_details: null };
}

function responsesEvents(x: Exchange): string[] {
  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>): string => sse({ type, sequence_number: seq++, ...fields }, type);
  const events = [ev('response.created', { response: { ...responsesBody(x, [], 'in_progress'), usage: null } })];
  responsesOutput(x).forEach((item, output_index) => {
    if (item.type === 'message') {
      const text = x.turn.text ?? '';
      const item_id = String(item.id);
      events.push(ev('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } }));
      events.push(ev('response.content_part.added', { item_id, output_index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
      for (const delta of words(text)) events.push(ev('response.output_text.delta', { item_id, output_index, content_index: 0, delta, logprobs: [] }));
      events.push(ev('response.output_text.done', { item_id, output_index, content_index: 0, text, logprobs: [] }));
    } else {
      const item_id = String(item.id);
      const args = String(item.arguments);
      events.push(ev('response.output_item.added', { output_index, item: { ...item, arguments: '', status: 'in_progress' } }));
      for (const delta of pieces(args, 12)) events.push(ev('response.function_call_arguments.delta', { item_id, output_index, delta }));
      events.push(ev('response.function_call_arguments.done', { item_id, output_index, arguments: args }));
    }
    events.push(ev('response.output_item.done', { output_index, item }));
  });
  events.push(ev('response.completed', { response: responsesBody(x, responsesOutput(x), 'completed') }));
  return events;
}

function chatUsage(x: Exchange): Record<string, unknown> {
  const total_tokens = x.inputTokens + x.outputTokens;
  const prompt_tokens_details = { cached_tokens: x.cached };
  return { prompt_tokens: x.inputTokens, completion_tokens: x.outputTokens, total_tokens, prompt_tokens_details };
}

function chatToolCalls(x: Exchange): { id: string; type: 'function'; function: { name: string; arguments: string } }[] {
  const calls = x.turn.toolCalls ?? [];
  return calls.map((c, i) => ({ id: `call_${x.n}_${i + 1}`, type: 'function', function: { name: c.name, arguments: scriptArgumentsText(c) } }));
}

function chatEvents(x: Exchange, includeUsage: boolean): string[] {
  const base = { id: `chatcmpl-${x.n}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: x.model };
  const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null): string =>
    sse({ ...base, choices: [{ index: 0, delta, finish_reason }] });
  const events = [chunk({ role: 'assistant', content: '' })];
  for (const content of words(x.turn.text ?? '')) events.push(chunk({ content }));
  chatToolCalls(x).forEach((call, index) => {
    const start = { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } };
    events.push(chunk({ tool_calls: [start] }));
    for (const args of pieces(call.function.arguments, 12)) events.push(chunk({ tool_calls: [{ index, function: { arguments: args } }] }));
  });
  events.push(chunk({}, x.turn.toolCalls?.length ? 'tool_calls' : 'stop'));
  if (includeUsage) events.push(sse({ ...base, choices: [], usage: chatUsage(x) }));
  events.push('data: [DONE]\n\n');
  return events;
}

function chatBody(x: Exchange): Record<string, unknown> {
  const calls = chatToolCalls(x);
  const message = { role: 'assistant', content: x.turn.text ?? null, ...(calls.length ? { tool_calls: calls } : {}) };
  const finish_reason = calls.length ? 'tool_calls' : 'stop';
  const head = { id: `chatcmpl-${x.n}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: x.model };
  return { ...head, choices: [{ index: 0, message, finish_reason }], usage: chatUsage(x) };
}

function anthropicUsage(x: Exchange): Record<string, number> {
  return { input_tokens: x.inputTokens - x.cached, cache_read_input_tokens: x.cached, cache_creation_input_tokens: 0 };
}

function anthropicEvents(x: Exchange): string[] {
  const ev = (type: string, fields: Record<string, unknown>): string => sse({ type, ...fields }, type);
  const message = { id: `msg_${x.n}`, type: 'message', role: 'assistant', model: x.model, content: [], stop_reason: null, stop_sequence: null };
  const events = [ev('message_start', { message: { ...message, usage: { ...anthropicUsage(x), output_tokens: 1 } } }), ev('ping', {})];
  let index = 0;
  if (x.turn.text) {
    events.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    for (const text of words(x.turn.text)) events.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text } }));
    events.push(ev('content_block_stop', { index }));
    index++;
  }
  (x.turn.toolCalls ?? []).forEach((call, i) => {
    const block = { type: 'tool_use', id: `toolu_${x.n}_${i + 1}`, name: call.name, input: {} };
    events.push(ev('content_block_start', { index, content_block: block }));
    for (const partial_json of pieces(scriptArgumentsText(call), 12)) {
      events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } }));
    }
    events.push(ev('content_block_stop', { index }));
    index++;
  });
  const stop_reason = x.turn.toolCalls?.length ? 'tool_use' : 'end_turn';
  events.push(ev('message_delta', { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: x.outputTokens } }));
  events.push(ev('message_stop', {}));
  return events;
}

function anthropicBody(x: Exchange): Record<string, unknown> {
  const content: Record<string, unknown>[] = x.turn.text ? [{ type: 'text', text: x.turn.text }] : [];
  (x.turn.toolCalls ?? []).forEach((call, i) => {
    let input: unknown = {};
    try {
      input = JSON.parse(scriptArgumentsText(call));
    } catch {
      // Anthropic never sends unparsable input outside streaming; keep the body well-formed.
    }
    content.push({ type: 'tool_use', id: `toolu_${x.n}_${i + 1}`, name: call.name, input });
  });
  const stop_reason = x.turn.toolCalls?.length ? 'tool_use' : 'end_turn';
  const usage = { ...anthropicUsage(x), output_tokens: x.outputTokens };
  return { id: `msg_${x.n}`, type: 'message', role: 'assistant', model: x.model, content, stop_reason, stop_sequence: null, usage };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

export async function startLlmServer(): Promise<LlmServer> {
  const queue: Action[] = [];
  const requests: RecordedRequest[] = [];
  let exchanges = 0;

  const exchange = (turn: ScriptTurn, body: Record<string, unknown>, rawBody: string): Exchange => {
    const output = (turn.text ?? '') + (turn.toolCalls ?? []).map((c) => c.name + scriptArgumentsText(c)).join('');
    const inputTokens = turn.usage?.inputTokens ?? estimateTokens(rawBody);
    const outputTokens = turn.usage?.outputTokens ?? estimateTokens(output);
    const cached = Math.min(turn.usage?.cachedInputTokens ?? 0, inputTokens);
    const model = typeof body.model === 'string' ? body.model : 'fake-model';
    return { turn, model, n: ++exchanges, inputTokens, outputTokens, cached };
  };

  const events = (vendor: Vendor, x: Exchange, body: Record<string, unknown>): string[] => {
    if (vendor === 'anthropic') return anthropicEvents(x);
    if (vendor === 'openai-chat') return chatEvents(x, isRecord(body.stream_options) && body.stream_options.include_usage === true);
    return responsesEvents(x);
  };

  const answer = (res: ServerResponse, vendor: Vendor, turn: ScriptTurn, req: RecordedRequest, cut?: { after: number; then: 'destroy' | 'hang' }): void => {
    const body = isRecord(req.body) ? req.body : {};
    const x = exchange(turn, body, req.rawBody);
    if (body.stream !== true && cut === undefined) {
      sendJson(res, 200, vendor === 'anthropic' ? anthropicBody(x) : vendor === 'openai-chat' ? chatBody(x) : responsesBody(x, responsesOutput(x), 'completed'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    const all = events(vendor, x, body);
    if (cut === undefined) {
      res.end(all.join(''));
      return;
    }
    res.write(all.slice(0, cut.after).join(''), () => {
      if (cut.then === 'destroy') res.socket?.destroy();
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        body = undefined;
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const vendor = vendorOf(path);
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path, vendor, headers: req.headers, body, rawBody, receivedAt: epochNow() };
      res.on('finish', () => (recorded.answeredAt = epochNow()));
      requests.push(recorded);
      if (vendor === undefined || req.method !== 'POST') {
        sendJson(res, 404, errorBody(vendor, 404, undefined, `llm-server: no route for ${req.method} ${path}`), { 'x-should-retry': 'false' });
        return;
      }
      const action = queue.shift();
      if (action === undefined) {
        const message = `llm-server: no turn queued for ${req.method} ${path} (request #${requests.length}); queue reply() first`;
        sendJson(res, 500, errorBody(vendor, 500, undefined, message), { 'x-should-retry': 'false' });
        return;
      }
      switch (action.kind) {
        case 'reply':
          return answer(res, vendor, action.turn, recorded);
        case 'drop':
          return answer(res, vendor, action.turn, recorded, { after: action.afterChunks, then: action.then });
        case 'hang':
          return;
        case 'slow': {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
          res.flushHeaders();
          const keepAlive = vendor === 'anthropic' ? 'event: ping\ndata: {"type": "ping"}\n\n' : ': keep-alive\n\n';
          let sent = 0;
          const tick = setInterval(() => {
            if (sent++ < action.keepAlives) {
              res.write(keepAlive);
              return;
            }
            clearInterval(tick);
            const x = exchange(action.turn, isRecord(recorded.body) ? recorded.body : {}, recorded.rawBody);
            res.end(events(vendor, x, isRecord(recorded.body) ? recorded.body : {}).join(''));
          }, action.everyMs);
          res.on('close', () => clearInterval(tick));
          return;
        }
        case 'garbage':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(action.body);
          return;
        case 'fail': {
          const { status, headers, body: custom, code, message } = action.failure;
          const text = message ?? `llm-server: queued failure ${status}`;
          sendJson(res, status, custom ?? errorBody(vendor, status, code, text), headers);
          return;
        }
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const partial: ScriptTurn = { text: 'a partial answer that never gets to the end' };
  const api: LlmServer = {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: `${url}/v1`,
    requests,
    reply: (turn) => (queue.push({ kind: 'reply', turn }), api),
    turns: (turns) => (turns.forEach((turn) => queue.push({ kind: 'reply', turn })), api),
    fail: (failure) => (queue.push({ kind: 'fail', failure }), api),
    dropStream: ({ afterChunks, turn }) => (queue.push({ kind: 'drop', afterChunks, turn: turn ?? partial, then: 'destroy' }), api),
    stallStream: ({ afterChunks, turn }) => (queue.push({ kind: 'drop', afterChunks, turn: turn ?? partial, then: 'hang' }), api),
    hang: () => (queue.push({ kind: 'hang' }), api),
    slowStream: ({ turn, keepAlives, everyMs }) => (queue.push({ kind: 'slow', turn, keepAlives, everyMs }), api),
    garbage: (body = '<html>this is not JSON</html>') => (queue.push({ kind: 'garbage', body }), api),
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
