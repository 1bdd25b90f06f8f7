/**
 * Signs of life from a model provider, at the byte level: every chunk of a response body that arrives counts,
 * whatever the SDK makes of it (keep-alive comments and pings included). The stall timer listens to this
 * instead of asking the SDK for its raw events, which costs more for every event of every answer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const listener = new AsyncLocalStorage<() => void>();

/** Runs `fn` (a whole model call) so that bytes of the responses it fetches call `onBytes`. */
export function withActivity<T>(onBytes: () => void, fn: () => T): T {
  return listener.run(onBytes, fn);
}

/**
 * A fetch for the SDK's providers: the same requests through `base` (default: the global fetch, looked up at
 * each call), with a streamed response body passed through a tap that reports each chunk to the model call
 * under way. Calls made outside withActivity get the response untouched. The tap costs about what the SDK's
 * own raw events cost, and it also sees keep-alives that are no events (SSE comments).
 */
export function activityFetch(base?: typeof fetch): typeof fetch {
  return async (input, init) => {
    const onBytes = listener.getStore();
    const response = await (base ?? fetch)(input, init);
    if (!onBytes) return response;
    onBytes(); // the status line and headers
    // Only a streamed answer is tapped: an error or a JSON body is read whole, at once, by the SDK.
    if (!response.ok || !response.body || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) return response;
    const tap = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes();
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(tap), { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
