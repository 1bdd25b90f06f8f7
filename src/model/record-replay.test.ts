import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLlmServer, type LlmServer } from '../../test/support/llm-server.js';
import { ModelError, type ModelClient, type ModelResponse } from '../protocol/model.js';
import { createModelClient } from './create.js';
import type { ScriptFile } from './script-turn.js';
import { clientFor, request, vendorSpecs } from '../../test/support/model-helpers.js';

let dir: string;
let server: LlmServer;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-replay-'));
  server = await startLlmServer();
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const script: ScriptFile = {
  turns: [
    { text: 'I will read the file.', toolCalls: [{ name: 'read_file', input: { path: 'src/a.ts' } }] },
    { toolCalls: [{ name: 'read_file', rawArguments: '{"path": ' }] },
    { text: 'Done.', usage: { inputTokens: 900, outputTokens: 30, cachedInputTokens: 800 } },
  ],
};

async function runAll(client: ModelClient, calls = script.turns.length): Promise<ModelResponse[]> {
  const responses: ModelResponse[] = [];
  for (let i = 0; i < calls; i++) responses.push(await client.complete(request({ messages: [{ role: 'user', content: `step ${i}` }] })));
  return responses;
}

describe('record and replay', () => {
  it('replays a recorded vendor run identically, tool-call errors and cost included', async () => {
    const recordPath = join(dir, 'nested', 'run.jsonl');
    server.turns(script.turns);
    const recorded = await runAll(await clientFor(vendorSpecs.anthropic, server, { recordPath }));
    expect(recorded[1]?.toolCalls[0]).toMatchObject({ input: undefined, inputError: expect.any(String) });
    expect(recorded[2]?.costUsd).toBeGreaterThan(0);

    const lines = (await readFile(recordPath, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ request: { role: 'coder', messages: [{ content: 'step 0' }] }, response: { text: 'I will read the file.' } });

    const replay = await createModelClient(`replay:${recordPath}`, { env: {} });
    const deltas: string[] = [];
    const first = await replay.complete(request(), { onTextDelta: (d) => deltas.push(d) });
    expect(first).toEqual(recorded[0]);
    expect(deltas.join('')).toBe(recorded[0]?.text);
    // The request differs from the recorded one: the recorded answer comes back all the same.
    expect(await replay.complete(request({ system: 'something else' }))).toEqual(recorded[1]);
    expect(Object.hasOwn(recorded[1]?.toolCalls[0] ?? {}, 'input')).toBe(true);
    expect(await replay.complete(request())).toEqual(recorded[2]);
    await expect(replay.complete(request())).rejects.toMatchObject({ kind: 'bad_response', message: expect.stringContaining('replay exhausted after 3 responses') });
  });

  it('records script runs too, and one script drives both script: and the HTTP fake', async () => {
    const file = join(dir, 'script.json');
    await writeFile(file, JSON.stringify(script));
    const recordPath = join(dir, 'script-run.jsonl');
    const scripted = await runAll(await createModelClient(`script:${file}`, { env: {}, recordPath }));
    const replayed = await runAll(await createModelClient(`replay:${recordPath}`, { env: {} }));
    expect(replayed).toEqual(scripted);

    server.turns(script.turns);
    const overHttp = await runAll(await clientFor(vendorSpecs.openai, server));
    const shape = (r: ModelResponse) => ({ text: r.text, calls: r.toolCalls.map((c) => ({ name: c.name, input: c.input, failed: c.inputError !== undefined })) });
    expect(overHttp.map(shape)).toEqual(scripted.map(shape));
  });

  it('rejects a malformed recording with the line number', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, `${JSON.stringify({ request: request(), response: { text: 'x', toolCalls: [], usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0 }, finishReason: 'stop', costUsd: 0 } })}\n{"request": {}}\n`);
    const error = await createModelClient(`replay:${file}`, { env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ kind: 'config', message: expect.stringMatching(/line 2/) });
  });
});
