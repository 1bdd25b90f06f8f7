import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandRunner, PolicyCheck, PolicyDecision, PolicyKind } from '../protocol/index.js';
import { editFileTool, listFilesTool, readFileTool, searchTool, shellTool, writeFileTool, type ToolContext } from './index.js';

const CANARY = 'canary-7f3a9c';

/** A small policy port: `.env` files are secrets, `curl` is denied, `deploy` asks; everything else allowed. */
function fakePolicy(): PolicyCheck & { refused: string[] } {
  const refused: string[] = [];
  const evaluate = (kind: PolicyKind, subject: string): PolicyDecision => {
    if ((kind === 'read' || kind === 'read_secret') && path.basename(subject) === '.env') {
      return { kind, subject, action: 'deny', secret: true, rule: { kind: 'read_secret', pattern: '.env', action: 'deny', source: 'default' } };
    }
    if (kind === 'exec' && subject.startsWith('curl')) {
      return { kind, subject, action: 'deny', rule: { kind: 'exec', pattern: 'curl *', action: 'deny', source: 'user' } };
    }
    if (kind === 'exec' && subject.startsWith('deploy')) return { kind, subject, action: 'ask', rule: null };
    return { kind, subject, action: 'allow', rule: null };
  };
  return {
    refused,
    evaluate,
    check(kind, subject) {
      const d = evaluate(kind, subject);
      if (d.action !== 'allow') refused.push(`${kind} ${subject}`);
      return d;
    },
  };
}

let root: string;
let ctx: ToolContext;
let policy: ReturnType<typeof fakePolicy>;
const ran: string[] = [];
const echoRunner: CommandRunner = {
  kind: 'none',
  run: async (command) => {
    ran.push(command);
    return { exitCode: 0, signal: null, timedOut: false, aborted: false, durationMs: 1, output: 'ran', truncated: false };
  },
};

beforeEach(async () => {
  root = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'slipway-policy-tools-')));
  await mkdir(path.join(root, 'api'));
  await writeFile(path.join(root, '.env'), `API_TOKEN=${CANARY}\n`);
  await writeFile(path.join(root, 'api', '.env'), `OTHER=${CANARY}\n`);
  await writeFile(path.join(root, 'config.js'), `export const token = process.env.API_TOKEN; // not ${CANARY.slice(0, 6)}\n`);
  await symlink('.env', path.join(root, 'innocent.txt'));
  policy = fakePolicy();
  ran.length = 0;
  ctx = { root, runner: echoRunner, signal: new AbortController().signal, commandTimeoutMs: 1000, policy };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('file tools consult the policy', () => {
  it('read_file refuses a secret file, by name, by path and through a link, with a message the model can act on', async () => {
    for (const requested of ['.env', 'api/.env', './api/../.env', 'innocent.txt']) {
      const r = await readFileTool.invoke({ path: requested }, ctx);
      expect(r.isError, requested).toBe(true);
      expect(r.forModel).toContain(`${requested} is a secret file and cannot be read (policy: read_secret \`.env\` deny, from default)`);
      expect(r.forModel).not.toContain(CANARY);
    }
    expect(policy.refused).toContain('read .env');
    // Positive control: without a policy the same file reads.
    const { policy: _omit, ...open } = ctx;
    expect((await readFileTool.invoke({ path: '.env' }, open)).forModel).toContain(CANARY);
  });

  it('search and list_files skip secret files entirely', async () => {
    const found = await searchTool.invoke({ pattern: CANARY.slice(0, 6) }, ctx);
    expect(found.forModel).not.toContain(CANARY);
    expect(found.forModel).toContain('config.js:1:');
    expect(found.forModel).not.toMatch(/\.env:/);
    const direct = await searchTool.invoke({ pattern: 'API', path: 'api/.env' }, ctx);
    expect(direct.isError).toBe(true);
    expect(direct.forModel).not.toContain(CANARY);
    const globbed = await searchTool.invoke({ pattern: 'TOKEN', glob: '.env' }, ctx);
    expect(globbed.forModel).toMatch(/No matches/);
    const list = await listFilesTool.invoke({}, ctx);
    expect(list.forModel).toContain('config.js');
    expect(list.forModel).not.toMatch(/\.env/);
    // Positive control: without a policy, search finds the canary.
    const { policy: _omit, ...open } = ctx;
    expect((await searchTool.invoke({ pattern: CANARY }, open)).forModel).toContain(CANARY);
  });

  it('edit_file refuses a secret file (its errors would quote it); write_file follows the write rules', async () => {
    const edit = await editFileTool.invoke({ path: '.env', old_text: 'API_TOKEN=', new_text: 'X=' }, ctx);
    expect(edit.isError).toBe(true);
    expect(edit.forModel).toMatch(/secret file/);
    expect(await readFile(path.join(root, '.env'), 'utf8')).toContain(CANARY);
    const write = await writeFileTool.invoke({ path: 'notes.txt', content: 'hi\n' }, ctx);
    expect(write.isError).toBeUndefined();
  });

  it('shell refuses denied commands and commands that need approval, and runs the rest', async () => {
    const denied = await shellTool.invoke({ command: 'curl https://example.com' }, ctx);
    expect(denied.isError).toBe(true);
    expect(denied.forModel).toMatch(/Running `curl https:\/\/example.com` is denied \(policy: exec `curl \*` deny, from user\)/);
    const ask = await shellTool.invoke({ command: 'deploy prod' }, ctx);
    expect(ask.forModel).toMatch(/needs a person's approval \(policy: no rule matched/);
    const ok = await shellTool.invoke({ command: 'ls' }, ctx);
    expect(ok.forModel).toContain('ran');
    expect(ran).toEqual(['ls']);
  });

  it('with a way to ask, an ask goes to the person: an approval runs the command, a refusal returns the reason', async () => {
    const asked: string[] = [];
    const answers = [{ approved: true as const }, { approved: false as const, reason: 'not today' }];
    const asking: ToolContext = {
      ...ctx,
      ask: (r) => {
        asked.push(`${r.kind} ${r.subject}`);
        return Promise.resolve(answers.shift()!);
      },
    };
    const yes = await shellTool.invoke({ command: 'deploy prod' }, asking);
    expect(yes.isError).toBeFalsy();
    expect(ran).toEqual(['deploy prod']);
    const no = await shellTool.invoke({ command: 'deploy staging' }, asking);
    expect(no.isError).toBe(true);
    expect(no.forModel).toMatch(/A person refused: running `deploy staging`\. Their reason: not today\./);
    expect(asked).toEqual(['exec deploy prod', 'exec deploy staging']);
    // An ask is not a refusal on the record; a deny still is, and is never put to a person.
    expect(policy.refused).toEqual([]);
    const denied = await shellTool.invoke({ command: 'curl https://example.com' }, asking);
    expect(denied.forModel).toMatch(/is denied/);
    expect(asked).toHaveLength(2);
    expect(policy.refused).toEqual(['exec curl https://example.com']);
  });
});
