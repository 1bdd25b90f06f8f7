/**
 * Signs of life from a model provider, at the byte level: every chunk of a response body that arrives counts,
 * whatever the SDK makes of it (keep-alive comments and pings included). The stall timer listens to this
 * instead of asking the SDK for its raw events, which costs more for every event of every answer.
 *
 * A model call is known by the abort signal it gives the provider, which the SDK hands on to fetch as it is.
 * (Not an AsyncLocalStorage: in Node 20 one in use turns on promise hooks for every promise of the process,
 * which cost a daemon about 6 ms of each run.)
 */
const listeners = new WeakMap<AbortSignal, () => void>();

/** Until the returned function is called, bytes of responses fetched with `signal` call `onBytes`. */
export function listenForActivity(signal: AbortSignal, onBytes: () => void): () => void {
  listeners.set(signal, onBytes);
  return () => listeners.delete(signal);
}

/**
 * A fetch for the SDK's providers: the same requests through `base` (default: the global fetch, looked up at
 * each call), with a streamed response body passed through a tap that reports each chunk to the model call
 * whose signal it carries. Other calls get the response untouched. The tap costs about what the SDK's own raw
 * events cost, and it also sees keep-alives that are no events (SSE comments).
 */
export function activityFetch(base?: typeof fetch): typeof fetch {
  return async (input, init) => {
    const onBytes = init?.signal ? listeners.get(init.signal) : undefined;
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
