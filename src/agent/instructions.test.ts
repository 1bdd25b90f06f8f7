import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { readInstructions } from './instructions.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function repo(files: Record<string, string>, folders: string[] = []): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-instructions-'));
  dirs.push(root);
  for (const f of folders) mkdirSync(path.join(root, f), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

it('takes the first of each kind of instructions there is, in order, trimmed to its size', async () => {
  const root = repo({ 'CLAUDE.md': 'claude', 'AGENT.md': 'agent', '.github/CONTRIBUTING.md': 'contribute', 'README.txt': 'r'.repeat(2500), 'README.rst': 'rst' });
  const text = await readInstructions(root);
  expect(text).toBe(`--- AGENT.md ---\nagent\n\n--- .github/CONTRIBUTING.md ---\ncontribute\n\n--- README.rst ---\nrst`);
});

it('passes over a name that is a folder, cuts a long file, and is empty where there is nothing', async () => {
  const root = repo({ 'README.txt': 'r'.repeat(2500) }, ['README.md', 'AGENTS.md']);
  const text = await readInstructions(root);
  expect(text.startsWith('--- README.txt ---\n' + 'r'.repeat(2000) + '\n… (truncated)')).toBe(true);
  expect(await readInstructions(repo({}))).toBe('');
  expect(await readInstructions(path.join(os.tmpdir(), 'slipway-no-such-folder'))).toBe('');
});
