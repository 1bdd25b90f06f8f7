import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityFetch, withActivity } from './activity.js';

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
    const text = await withActivity(
      () => {
        if (++seen === 2) firstChunkSeen.resolve();
      },
      async () => (await tapped(`${url}/sse`)).text(),
    );
    expect(text).toBe(': keep-alive\n\ndata: {"done":true}\n\n');
    expect(seen).toBeGreaterThanOrEqual(3); // headers, the keep-alive, the event
  });

  it('leaves JSON answers, error answers and calls outside a model call untouched', async () => {
    let seen = 0;
    await withActivity(
      () => seen++,
      async () => {
        expect(await (await tapped(`${url}/json`)).json()).toEqual({ ok: true });
        const failed = await tapped(`${url}/error`);
        expect(failed.status).toBe(429);
        expect(await failed.text()).toBe('{"error":"slow down"}');
      },
    );
    expect(seen).toBe(2); // the headers of each, nothing more
    firstChunkSeen.resolve(); // nothing taps this one: let it through at once
    expect(await (await tapped(`${url}/sse`)).text()).toContain('done');
    expect(seen).toBe(2);
  });
});
