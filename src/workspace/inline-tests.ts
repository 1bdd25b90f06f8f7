/**
 * Tests that live in the file of the code they test: Rust's `#[cfg(test)] mod tests { ... }` inside `src/`.
 * Proving a new test needs the base commit's code with only the change's tests, so such a file is split, with a
 * real parser (tree-sitter; strings, raw strings, lifetimes and nested comments are no trouble), into its code
 * and its test modules.
 */
import type { Node, Parser } from '@vscode/tree-sitter-wasm';
import { parserFor } from './syntax.js';

/** What the proof takes of one changed file with inline tests. */
export type InlineTestChange =
  /** Its test modules are as on the base commit: a change of code only, kept out of the proof. */
  | { kind: 'code-only' }
  /** Only its test modules changed: the whole file goes into the proof. */
  | { kind: 'tests-only' }
  /** Code and tests changed: the proof takes this content, the base commit's code with the change's tests. */
  | { kind: 'split'; content: string }
  /** It cannot be split (a parse error, a test module nested where the base has none): judged by the suite. */
  | { kind: 'unsplittable'; reason: string };

/** Files whose tests may sit beside their code. */
export function mayHoldInlineTests(file: string): boolean {
  return file.endsWith('.rs');
}

/**
 * One item of test code with its attributes: a `#[cfg(test)]` module, function, `use` or impl, or a `#[test]`
 * function outside such a module. Its key names it among the modules around it.
 */
interface TestRegion {
  key: string;
  /** The modules it sits in, outermost first, and its own name (or its text, for an item without one). */
  outer: string[];
  name: string;
  start: number;
  end: number;
  text: string;
}

/**
 * Splits a changed Rust file. `base` is its content on the base commit (null: new with the change, so nothing
 * of it exists to run the tests against, and it stays out of the proof).
 */
export async function splitInlineTests(base: string | null, changed: string): Promise<InlineTestChange> {
  if (base === null) return { kind: 'code-only' };
  const parser = await parserFor('rust');
  const before = regions(parser, base);
  const after = regions(parser, changed);
  if (!before || !after) return { kind: 'unsplittable', reason: 'it does not parse as Rust' };
  const testsOf = (rs: TestRegion[]) => new Map(rs.map((r) => [r.key, r.text]));
  const [testsBefore, testsAfter] = [testsOf(before), testsOf(after)];
  const sameTests = testsBefore.size === testsAfter.size && [...testsAfter].every(([k, t]) => testsBefore.get(k) === t);
  if (sameTests) return { kind: 'code-only' };
  if (squeeze(without(base, before)) === squeeze(without(changed, after))) return { kind: 'tests-only' };

  // The base text, each of its test modules replaced by the change's (or dropped); new top-level ones appended.
  let content = base;
  for (const r of [...before].sort((a, b) => b.start - a.start)) {
    content = content.slice(0, r.start) + (testsAfter.get(r.key) ?? '') + content.slice(r.end);
  }
  const added = after.filter((r) => !testsBefore.has(r.key));
  const nested = added.find((r) => r.outer.length > 0);
  if (nested) return { kind: 'unsplittable', reason: `its new test code ${nested.name} sits inside module ${nested.outer.join('::')}, which has no test code on the base commit` };
  if (added.length > 0) content = `${content.replace(/\s*$/, '\n')}\n${added.map((r) => r.text).join('\n\n')}\n`;
  return { kind: 'split', content };
}

/** The file's test modules, at any depth; null when the file has a syntax error. */
function regions(parser: Parser, text: string): TestRegion[] | null {
  const tree = parser.parse(text);
  if (!tree) return null;
  try {
    if (tree.rootNode.hasError) return null;
    const found: TestRegion[] = [];
    collect(tree.rootNode, [], text, found);
    return found;
  } finally {
    tree.delete();
  }
}

function collect(list: Node, outer: string[], text: string, found: TestRegion[]): void {
  let attributes: Node[] = [];
  for (const node of list.namedChildren) {
    if (!node) continue;
    if (node.type === 'attribute_item') {
      attributes.push(node);
      continue;
    }
    if (node.type === 'line_comment' || node.type === 'block_comment') continue; // between attributes and item
    const first = attributes[0];
    const name = node.childForFieldName('name')?.text;
    const body = node.type === 'mod_item' ? node.childForFieldName('body') : null;
    if (first && attributes.some((a) => isTestAttribute(a.text))) {
      const own = name ?? text.slice(node.startIndex, node.endIndex);
      found.push({ key: [...outer, `${node.type}:${own}`].join('::'), outer, name: name ?? node.type, start: first.startIndex, end: node.endIndex, text: text.slice(first.startIndex, node.endIndex) });
    } else if (name && body) {
      collect(body, [...outer, name], text, found);
    }
    attributes = [];
  }
}

/** `#[cfg(test)]` or `#[cfg(all(test, ...))]` on any item; `#[test]`, `#[tokio::test]`, `#[rstest]` on a function. */
function isTestAttribute(attribute: string): boolean {
  return /^#\[\s*cfg\s*\(\s*(all\s*\(\s*)?test\s*[,)]/.test(attribute) || /^#\[\s*(?:[\w]+::)*(?:test|rstest|test_case|quickcheck)\s*[\](]/.test(attribute);
}

function without(text: string, rs: TestRegion[]): string {
  let out = text;
  for (const r of [...rs].sort((a, b) => b.start - a.start)) out = out.slice(0, r.start) + out.slice(r.end);
  return out;
}

/** Layout aside: code that differs only in blank lines and indentation is the same code. */
function squeeze(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
