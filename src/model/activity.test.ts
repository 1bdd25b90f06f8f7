import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityFetch, listenForActivity } from './activity.js';

let server: Server;
let url: string;
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}
/** Resolved by the streamed-answer test when its tap has reported the keep-alive. */
let firstChunkSeen = deferred();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
      // The rest only once the client has seen the first chunk: two writes can arrive as one read otherwise.
      void firstChunkSeen.promise.then(() => res.end('data: {"done":true}\n\n'));
    } else if (req.url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else {
      res.writeHead(429, { 'content-type': 'text/event-stream' });
      res.end('{"error":"slow down"}');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe('activityFetch', () => {
  const tapped = activityFetch();

  it('reports the headers and every chunk of a streamed answer to the call under way, and passes the bytes on', async () => {
    let seen = 0;
    firstChunkSeen = deferred();
    const call = new AbortController();
    const stop = listenForActivity(call.signal, () => {
      if (++seen === 2) firstChunkSeen.resolve();
    });
    const text = await (await tapped(`${url}/sse`, { signal: call.signal })).text();
    stop();
    expect(text).toBe(': keep-alive\n\ndata: {"done":true}\n\n');
    expect(seen).toBeGreaterThanOrEqual(3); // headers, the keep-alive, the event
  });

  it('leaves JSON answers, error answers, other calls and a call that stopped listening untouched', async () => {
    let seen = 0;
    const call = new AbortController();
    const stop = listenForActivity(call.signal, () => seen++);
    expect(await (await tapped(`${url}/json`, { signal: call.signal })).json()).toEqual({ ok: true });
    const failed = await tapped(`${url}/error`, { signal: call.signal });
    expect(failed.status).toBe(429);
    expect(await failed.text()).toBe('{"error":"slow down"}');
    expect(seen).toBe(2); // the headers of each, nothing more
    firstChunkSeen.resolve(); // nothing taps these: let them through at once
    // Another call's signal, and no signal at all.
    expect(await (await tapped(`${url}/sse`, { signal: new AbortController().signal })).text()).toContain('done');
    expect(await (await tapped(`${url}/sse`)).text()).toContain('done');
    expect(seen).toBe(2);
    // The same call once it stopped listening.
    stop();
    expect(await (await tapped(`${url}/sse`, { signal: call.signal })).text()).toContain('done');
    expect(seen).toBe(2);
  });
});
