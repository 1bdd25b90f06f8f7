import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelError } from '../protocol/model.js';
import { createModelClient } from './create.js';
import type { ScriptFile } from './script-turn.js';
import { request } from '../../test/support/model-helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-script-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function scriptFile(content: ScriptFile | string): Promise<string> {
  const file = join(dir, 'script.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

async function configError(file: string): Promise<ModelError> {
  const error = await createModelClient(`script:${file}`, { env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelError);
  expect((error as ModelError).kind).toBe('config');
  return error as ModelError;
}

describe('script: model', () => {
  it('plays turns in order across roles, with deterministic call ids', async () => {
    const file = await scriptFile({
      turns: [
        { text: 'Plan: read then fix.' },
        { toolCalls: [{ name: 'read_file', input: { path: 'a.ts' } }, { name: 'read_file', input: { path: 'b.ts' } }] },
        { text: 'Looks right.', toolCalls: [{ name: 'read_file', input: { path: 'c.ts' } }], usage: { inputTokens: 10, outputTokens: 2 } },
      ],
    });
    const client = await createModelClient(`script:${file}`, { env: {} });
    const deltas: string[] = [];
    const plan = await client.complete(request({ role: 'planner' }), { onTextDelta: (d) => deltas.push(d) });
    const code = await client.complete(request({ role: 'coder' }));
    const verify = await client.complete(request({ role: 'verifier' }));

    expect(plan).toMatchObject({ text: 'Plan: read then fix.', toolCalls: [], finishReason: 'stop', costUsd: 0 });
    expect(deltas).toEqual(['Plan: read then fix.']);
    expect(code.toolCalls).toEqual([
      { id: 'call_1', name: 'read_file', input: { path: 'a.ts' } },
      { id: 'call_2', name: 'read_file', input: { path: 'b.ts' } },
    ]);
    expect(code.finishReason).toBe('tool-calls');
    expect(verify.toolCalls[0]?.id).toBe('call_3');
    expect(verify.usage).toEqual({ inputTokens: 10, outputTokens: 2, cachedInputTokens: 0 });
  });

  it('estimates usage at four characters a token when the turn gives none', async () => {
    const file = await scriptFile({ turns: [{ text: 'x'.repeat(40) }] });
    const client = await createModelClient(`script:${file}`, { env: {} });
    const req = request();
    const response = await client.complete(req);
    const requestChars = req.system.length + JSON.stringify(req.messages).length + JSON.stringify(req.tools).length;
    expect(response.usage).toEqual({ inputTokens: Math.ceil(requestChars / 4), outputTokens: 10, cachedInputTokens: 0 });
  });

  it('throws bad_response when the script runs out', async () => {
    const file = await scriptFile({ turns: [{ text: 'one' }, { text: 'two' }] });
    const client = await createModelClient(`script:${file}`, { env: {} });
    await client.complete(request());
    await client.complete(request());
    const error = await client.complete(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ kind: 'bad_response', message: expect.stringContaining('script exhausted after 2 turns') });
  });

  it('returns bad arguments as inputError, like the vendors do', async () => {
    const file = await scriptFile({
      turns: [{ toolCalls: [{ name: 'read_file', rawArguments: '{"path":' }, { name: 'read_file', input: { path: 3 } }, { name: 'nope', input: {} }] }],
    });
    const response = await (await createModelClient(`script:${file}`, { env: {} })).complete(request());
    expect(response.toolCalls.map((c) => c.input)).toEqual([undefined, undefined, undefined]);
    expect(response.toolCalls[0]?.inputError).toMatch(/not valid JSON/);
    expect(response.toolCalls[1]?.inputError).toMatch(/path: .*expected string/);
    expect(response.toolCalls[2]?.inputError).toMatch(/no tool named "nope"/);
  });

  it('names the file, line and problem of a malformed script', async () => {
    const broken = await scriptFile('{\n  "turns": [\n    { "text": "hi", }\n  ]\n}');
    const error = await configError(broken);
    expect(error.message).toContain(broken);
    expect(error.message).toMatch(/line 3/);

    const wrongShape = await scriptFile(JSON.stringify({ turns: [{ text: 'ok' }, { toolCalls: [{ input: {} }] }] }));
    expect((await configError(wrongShape)).message).toMatch(/turns\[1\]\.toolCalls\[0\]/);

    const typo = await scriptFile(JSON.stringify({ turns: [{ txt: 'hi' }] }));
    expect((await configError(typo)).message).toMatch(/txt/);

    const missing = join(dir, 'missing.json');
    expect((await configError(missing)).message).toMatch(/does not exist/);
  });
});
