import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../protocol/index.js';
import { editFileTool, listFilesTool, readFileTool, requestNetworkTool, searchTool, writeFileTool, type ToolContext } from './index.js';

const refuseRunner: CommandRunner = {
  kind: 'none',
  run: () => Promise.reject(new Error('no commands in these tests')),
};

let root: string;
let outside: string;
let ctx: ToolContext;

beforeEach(async () => {
  root = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'slipway-tools-')));
  outside = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'slipway-outside-')));
  execFileSync('git', ['init', '-q'], { cwd: root });
  await writeFile(path.join(root, '.gitignore'), 'build/\n');
  await mkdir(path.join(root, 'src'));
  await mkdir(path.join(root, 'build'));
  await writeFile(path.join(root, 'src', 'a.js'), 'const x = 1;\nconst y = 2;\nconst x2 = 1;\n');
  await writeFile(path.join(root, 'build', 'out.js'), 'const x = 1;\n');
  await writeFile(path.join(outside, 'secret.txt'), 'canary-outside\n');
  ctx = { root, runner: refuseRunner, signal: new AbortController().signal, commandTimeoutMs: 1000 };
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('file tools', () => {
  it('reads numbered lines and a window of them', async () => {
    const all = await readFileTool.invoke({ path: 'src/a.js' }, ctx);
    expect(all.forModel).toBe('1: const x = 1;\n2: const y = 2;\n3: const x2 = 1;');
    const part = await readFileTool.invoke({ path: 'src/a.js', offset: 2, limit: 1 }, ctx);
    expect(part.forModel).toContain('2: const y = 2;');
    expect(part.forModel).toContain('1 more lines');
  });

  it('refuses path traversal and symlinks that leave the clone', async () => {
    const traversal = await readFileTool.invoke({ path: `../${path.basename(outside)}/secret.txt` }, ctx);
    expect(traversal.isError).toBe(true);
    expect(traversal.forModel).toMatch(/outside the repository/);
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'link.txt'));
    const viaLink = await readFileTool.invoke({ path: 'link.txt' }, ctx);
    expect(viaLink.isError).toBe(true);
    expect(viaLink.forModel).not.toContain('canary-outside');
    const write = await writeFileTool.invoke({ path: 'link.txt', content: 'pwned' }, ctx);
    expect(write.isError).toBe(true);
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('canary-outside\n');
    // Positive control: the same file is readable when it is inside.
    await writeFile(path.join(root, 'inside.txt'), 'ok\n');
    expect((await readFileTool.invoke({ path: 'inside.txt' }, ctx)).forModel).toBe('1: ok');
  });

  it('refuses to follow dangling symlinks out of the clone or into .git', async () => {
    const { existsSync } = await import('node:fs');
    await symlink(path.join(outside, 'planted'), path.join(root, 'dangling'));
    const out = await writeFileTool.invoke({ path: 'dangling', content: 'x' }, ctx);
    expect(out.isError).toBe(true);
    expect(existsSync(path.join(outside, 'planted'))).toBe(false);
    await symlink(path.join(root, '.git', 'hooks', 'post-commit'), path.join(root, 'hooklink'));
    const hook = await writeFileTool.invoke({ path: 'hooklink', content: '#!/bin/sh\n' }, ctx);
    expect(hook.isError).toBe(true);
    expect(existsSync(path.join(root, '.git', 'hooks', 'post-commit'))).toBe(false);
    await symlink(path.join(outside, 'nodir'), path.join(root, 'linkdir'));
    const nested = await writeFileTool.invoke({ path: 'linkdir/file.txt', content: 'x' }, ctx);
    expect(nested.isError).toBe(true);
    expect(existsSync(path.join(outside, 'nodir'))).toBe(false);
    // Positive control: a plain new file is written.
    expect((await writeFileTool.invoke({ path: 'plain.txt', content: 'x' }, ctx)).isError).toBeUndefined();
  });

  it('refuses writes into .git', async () => {
    const r = await writeFileTool.invoke({ path: '.git/hooks/pre-commit', content: '#!/bin/sh\n' }, ctx);
    expect(r.isError).toBe(true);
    expect(r.forModel).toMatch(/\.git is not allowed/);
  });

  it('edit_file replaces exactly once and explains zero or many matches', async () => {
    const many = await editFileTool.invoke({ path: 'src/a.js', old_text: '= 1;', new_text: '= 3;' }, ctx);
    expect(many.isError).toBe(true);
    expect(many.forModel).toMatch(/appears 2 times/);
    const none = await editFileTool.invoke({ path: 'src/a.js', old_text: 'const  y = 2;', new_text: 'z' }, ctx);
    expect(none.isError).toBe(true);
    expect(none.forModel).toMatch(/not found/);
    const ok = await editFileTool.invoke({ path: 'src/a.js', old_text: 'const y = 2;', new_text: 'const y = 3;' }, ctx);
    expect(ok.isError).toBeUndefined();
    expect(await readFile(path.join(root, 'src/a.js'), 'utf8')).toContain('const y = 3;');
    const all = await editFileTool.invoke({ path: 'src/a.js', old_text: '= 1;', new_text: '= 4;', replace_all: true }, ctx);
    expect(all.forModel).toMatch(/2 occurrence/);
  });

  it('reads and edits a file with Windows line ends as it shows it, keeping its line ends', async () => {
    await writeFile(path.join(root, 'src', 'win.txt'), 'alpha\r\nbeta\r\ngamma\r\n');
    const shown = await readFileTool.invoke({ path: 'src/win.txt' }, ctx);
    expect(shown.forModel).toBe('1: alpha\n2: beta\n3: gamma');
    const edited = await editFileTool.invoke({ path: 'src/win.txt', old_text: 'alpha\nbeta', new_text: 'alpha\nBETA\nbeta two' }, ctx);
    expect(edited.isError, edited.forModel).toBeFalsy();
    expect(await readFile(path.join(root, 'src', 'win.txt'), 'utf8')).toBe('alpha\r\nBETA\r\nbeta two\r\ngamma\r\n');
    // Text that matches as it is (with its \r) is replaced as it is.
    await editFileTool.invoke({ path: 'src/win.txt', old_text: 'gamma\r\n', new_text: 'delta\r\n' }, ctx);
    expect(await readFile(path.join(root, 'src', 'win.txt'), 'utf8')).toBe('alpha\r\nBETA\r\nbeta two\r\ndelta\r\n');
    expect((await searchTool.invoke({ pattern: 'BETA', path: 'src/win.txt' }, ctx)).forModel).toBe('src/win.txt:2:BETA');
    await writeFileTool.invoke({ path: 'src/win.txt', content: 'one\ntwo\n' }, ctx);
    expect(await readFile(path.join(root, 'src', 'win.txt'), 'utf8')).toBe('one\r\ntwo\r\n');
    await writeFileTool.invoke({ path: 'src/new.txt', content: 'one\ntwo\n' }, ctx);
    expect(await readFile(path.join(root, 'src', 'new.txt'), 'utf8')).toBe('one\ntwo\n');
  });

  it('refuses to edit a file that is not UTF-8, leaving its bytes as they were', async () => {
    const latin1 = Buffer.from('caf\xe9 = 1\n', 'latin1');
    await writeFile(path.join(root, 'src', 'legacy.txt'), latin1);
    const out = await editFileTool.invoke({ path: 'src/legacy.txt', old_text: '= 1', new_text: '= 2' }, ctx);
    expect(out.isError).toBe(true);
    expect(out.forModel).toMatch(/not UTF-8 text.*shell command that keeps its encoding/);
    expect((await readFile(path.join(root, 'src', 'legacy.txt'))).equals(latin1)).toBe(true);
    // UTF-8 with a byte-order mark keeps it.
    await writeFile(path.join(root, 'src', 'bom.txt'), '\ufeffx = 1\n');
    expect((await editFileTool.invoke({ path: 'src/bom.txt', old_text: '= 1', new_text: '= 2' }, ctx)).isError).toBeFalsy();
    expect(await readFile(path.join(root, 'src', 'bom.txt'), 'utf8')).toBe('\ufeffx = 2\n');
  });

  it('turns schema errors into a message the model can act on', async () => {
    const r = await editFileTool.invoke({ path: 'src/a.js', new_text: 1 }, ctx);
    expect(r.isError).toBe(true);
    expect(r.forModel).toMatch(/Invalid arguments for edit_file: old_text/);
  });

  it('list_files and search honour .gitignore', async () => {
    const list = await listFilesTool.invoke({}, ctx);
    expect(list.forModel).toContain('src/a.js');
    expect(list.forModel).not.toContain('build/out.js');
    const found = await searchTool.invoke({ pattern: 'const x =' }, ctx);
    expect(found.forModel).toContain('src/a.js:1:const x = 1;');
    expect(found.forModel).not.toContain('build/');
    const none = await searchTool.invoke({ pattern: 'nothing-here' }, ctx);
    expect(none.forModel).toMatch(/No matches/);
  });

  it('write_file creates folders', async () => {
    await writeFileTool.invoke({ path: 'deep/new/file.txt', content: 'hi\n' }, ctx);
    expect(await readFile(path.join(root, 'deep/new/file.txt'), 'utf8')).toBe('hi\n');
  });
});

describe('request_network', () => {
  const rule = (action: 'allow' | 'ask' | 'deny', pattern = '*') => ({ kind: 'network' as const, pattern, action, source: 'user' as const });
  /** The network port as run-goal gives it: decisions by host, and the grants it was asked for. */
  function network(byHost: Record<string, 'allow' | 'ask' | 'deny'>, canGrant = true) {
    const granted: string[] = [];
    return {
      granted,
      port: {
        evaluate: (host: string, port: number) => {
          const action = byHost[host] ?? 'ask';
          return { kind: 'network' as const, subject: `${host}:${port}`, action, rule: rule(action, byHost[host] ? host : '*') };
        },
        grant: async (host: string, port: number) => {
          granted.push(`${host}:${port}`);
          return canGrant;
        },
      },
    };
  }

  it('grants a host a rule allows at once, asks a person about one a rule says ask, and refuses a denied one', async () => {
    const net = network({ 'registry.npmjs.org': 'allow', 'evil.example': 'deny' });
    const asked: string[] = [];
    const withNet: ToolContext = {
      ...ctx,
      network: net.port,
      ask: async (r) => (asked.push(`${r.kind} ${r.subject}: ${r.shown}`), r.subject.startsWith('api.') ? { approved: true } : { approved: false, reason: 'not for this task' }),
    };
    const allowed = await requestNetworkTool.invoke({ host: 'Registry.NPMJS.org', reason: 'fetch the package list' }, withNet);
    expect(allowed.isError).toBeFalsy();
    expect(allowed.forModel).toMatch(/^Granted: .*registry\.npmjs\.org:443/);
    const approved = await requestNetworkTool.invoke({ host: 'api.example.com', port: 8443, reason: 'the integration test calls it' }, withNet);
    expect(approved.forModel).toMatch(/^Granted/);
    const refused = await requestNetworkTool.invoke({ host: 'data.example.com', reason: 'download a dataset' }, withNet);
    expect(refused).toMatchObject({ isError: true, forModel: expect.stringContaining('A person refused network access to data.example.com:443. Their reason: not for this task') });
    const denied = await requestNetworkTool.invoke({ host: 'evil.example', reason: 'x' }, withNet);
    expect(denied).toMatchObject({ isError: true, forModel: expect.stringMatching(/denied \(policy: network `evil\.example` deny, from user\)/) });
    expect(asked).toEqual(['network api.example.com:8443: api.example.com:8443 (the integration test calls it)', 'network data.example.com:443: data.example.com:443 (download a dataset)']);
    expect(net.granted).toEqual(['registry.npmjs.org:443', 'api.example.com:8443']);
  });

  it('refuses what is not a host name, and says so when the run cannot give network or ask', async () => {
    for (const host of ['https://example.com', 'example.com/path', 'user@example.com', 'exa mple.com', '-bad.example']) {
      const r = await requestNetworkTool.invoke({ host, reason: 'x' }, { ...ctx, network: network({}).port });
      expect(r, host).toMatchObject({ isError: true, forModel: expect.stringContaining('is not a host name') });
    }
    expect((await requestNetworkTool.invoke({ host: 'example.com', reason: 'x' }, ctx)).forModel).toMatch(/cannot give your commands network access/);
    const noAsk = await requestNetworkTool.invoke({ host: 'example.com', reason: 'x' }, { ...ctx, network: network({}).port });
    expect(noAsk.forModel).toMatch(/needs a person's approval .* this run cannot ask/);
    const noSandbox = await requestNetworkTool.invoke({ host: 'example.com', reason: 'x' }, { ...ctx, network: network({ 'example.com': 'allow' }, false).port });
    expect(noSandbox.forModel).toMatch(/cannot give your commands network access \(no sandbox\)/);
  });
});
