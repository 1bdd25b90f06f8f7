import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../protocol/index.js';
import { outlineTool, type ToolContext } from './index.js';

const refuseRunner: CommandRunner = { kind: 'none', run: () => Promise.reject(new Error('no commands in these tests')) };

const SOURCES: Record<string, string> = {
  'src/cart.ts': [
    'export interface Item {',
    '  price: number;',
    '}',
    'export type Total = number;',
    'export function cartTotal(items: Item[], discountPercent: number): Total {',
    '  const subtotal = items.reduce((s, i) => s + i.price, 0);',
    '  return subtotal - discountPercent;',
    '}',
    'export const count = (items: Item[]) => items.length;',
    'export class Cart {',
    '  add(item: Item): void {}',
    '  get size() { return 0; }',
    '}',
  ].join('\n'),
  'lib/stats.py': ['import math', '', 'class Stats:', '    @staticmethod', '    def mean(values):', '        return sum(values) / len(values)', '', 'def median(values):', '    pass', ''].join('\n'),
  'clamp.go': ['package clamp', '', 'type Range struct{ Lo, Hi int }', '', 'func (r Range) Clamp(v int) int {', '\treturn v', '}', '', 'func New(lo, hi int) Range { return Range{lo, hi} }', ''].join('\n'),
  'src/lib.rs': ['pub struct Words;', 'impl Words {', '    pub fn count(text: &str) -> usize {', '        text.split_whitespace().count()', '    }', '}', '#[cfg(test)]', 'mod tests {', '    #[test]', '    fn counts() {}', '}', ''].join('\n'),
  'src/Money.java': ['package example;', 'public class Money {', '  public Money() {}', '  public static long percentOf(long amount, long percent) {', '    return amount * percent / 100;', '  }', '}', ''].join('\n'),
  'notes.md': '# Notes\n',
};

let root: string;
let ctx: ToolContext;
beforeAll(async () => {
  root = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'slipway-outline-')));
  for (const [rel, text] of Object.entries(SOURCES)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  await symlink('/etc/passwd', path.join(root, 'passwd.sh'));
  ctx = { root, runner: refuseRunner, signal: new AbortController().signal, commandTimeoutMs: 1000 };
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('outline', () => {
  it('lists a TypeScript file\'s definitions with their lines, methods inside their class', async () => {
    const out = await outlineTool.invoke({ path: 'src/cart.ts' }, ctx);
    expect(out.forModel).toBe(
      [
        'src/cart.ts (13 lines), 7 definitions:',
        ' 1: export interface Item',
        ' 4: export type Total = number;',
        ' 5: export function cartTotal(items: Item[], discountPercent: number): Total',
        ' 9: export const count = (items: Item[]) => items.length;',
        '10: export class Cart',
        '11:   add(item: Item): void {}',
        '12:   get size() { return 0; }',
      ].join('\n'),
    );
    expect(out.display).toBe('outline src/cart.ts (7 definitions)');
  });

  it('knows Python, Go, Rust and Java', async () => {
    const lines = async (p: string) => (await outlineTool.invoke({ path: p }, ctx)).forModel.split('\n').slice(1);
    expect(await lines('lib/stats.py')).toEqual(['3: class Stats:', '5:   def mean(values):', '8: def median(values):']);
    expect(await lines('clamp.go')).toEqual(['3: type Range struct{ Lo, Hi int }', '5: func (r Range) Clamp(v int) int', '9: func New(lo, hi int) Range { return Range{lo, hi} }']);
    expect(await lines('src/lib.rs')).toEqual([' 1: pub struct Words;', ' 2: impl Words', ' 3:   pub fn count(text: &str) -> usize', ' 8: mod tests', '10:   fn counts() {}']);
    expect(await lines('src/Money.java')).toEqual(['2: public class Money', '3:   public Money() {}', '4:   public static long percentOf(long amount, long percent)']);
  });

  it('outlines a folder: the top-level definitions of each source file under it', async () => {
    const out = await outlineTool.invoke({ path: 'src' }, ctx);
    expect(out.forModel).toBe(
      [
        'src/Money.java',
        '  2: public class Money',
        'src/cart.ts',
        '  1: export interface Item',
        '  4: export type Total = number;',
        '  5: export function cartTotal(items: Item[], discountPercent: number): Total',
        '  9: export const count = (items: Item[]) => items.length;',
        '  10: export class Cart',
        'src/lib.rs',
        '  1: pub struct Words;',
        '  2: impl Words',
        '  8: mod tests',
      ].join('\n'),
    );
    expect(out.display).toBe('outline src/ (3 files)');
    // The whole repository: the link out of it (passwd.sh) is passed over.
    const all = await outlineTool.invoke({ path: '.' }, ctx);
    expect(all.forModel).toContain('lib/stats.py\n  3: class Stats:');
    expect(all.forModel).not.toContain('passwd');
  });

  it('says what it cannot do, and stays inside the repository', async () => {
    await expect(outlineTool.invoke({ path: 'notes.md' }, ctx)).resolves.toMatchObject({ isError: true, forModel: expect.stringMatching(/does not know the language of notes\.md/) });
    await expect(outlineTool.invoke({ path: 'missing.ts' }, ctx)).resolves.toMatchObject({ isError: true, forModel: expect.stringMatching(/File not found/) });
    const escaped = await outlineTool.invoke({ path: 'passwd.sh' }, ctx);
    expect(escaped.isError).toBe(true);
    expect(escaped.forModel).not.toContain('root:');
    expect((await outlineTool.invoke({ path: '../../etc/passwd' }, ctx)).isError).toBe(true);
  });
});
