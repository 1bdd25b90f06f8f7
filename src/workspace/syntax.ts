/**
 * Parsers for source code: tree-sitter's WebAssembly runtime and grammars (@vscode/tree-sitter-wasm), loaded on
 * first use (the runtime and a grammar take about 50 ms) and kept for the process.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Language, Parser } from '@vscode/tree-sitter-wasm';

export type SyntaxLanguage = 'bash' | 'c-sharp' | 'cpp' | 'go' | 'java' | 'javascript' | 'php' | 'python' | 'ruby' | 'rust' | 'tsx' | 'typescript';

const BY_EXTENSION: Record<string, SyntaxLanguage> = {
  '.sh': 'bash',
  '.bash': 'bash',
  '.cs': 'c-sharp',
  '.c': 'cpp',
  '.h': 'cpp',
  '.cc': 'cpp',
  '.cpp': 'cpp',
  '.cxx': 'cpp',
  '.hh': 'cpp',
  '.hpp': 'cpp',
  '.go': 'go',
  '.java': 'java',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.jsx': 'javascript',
  '.php': 'php',
  '.py': 'python',
  '.rb': 'ruby',
  '.rs': 'rust',
  '.tsx': 'tsx',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
};

/** The language of a file by its extension, or null when no grammar is bundled for it. */
export function languageOf(file: string): SyntaxLanguage | null {
  return BY_EXTENSION[path.extname(file).toLowerCase()] ?? null;
}

/** The extensions a grammar is bundled for, for messages. */
export const SYNTAX_EXTENSIONS = Object.keys(BY_EXTENSION);

type TreeSitter = typeof import('@vscode/tree-sitter-wasm');

let runtime: Promise<{ treeSitter: TreeSitter; dir: string }> | null = null;
const parsers = new Map<SyntaxLanguage, Promise<Parser>>();

/** A parser for `language`, made once per process. */
export function parserFor(language: SyntaxLanguage): Promise<Parser> {
  let parser = parsers.get(language);
  if (!parser) {
    parser = (async () => {
      const { treeSitter, dir } = await loadRuntime();
      const grammar: Language = await treeSitter.Language.load(path.join(dir, `tree-sitter-${language}.wasm`));
      const made = new treeSitter.Parser();
      made.setLanguage(grammar);
      return made;
    })();
    parsers.set(language, parser);
    parser.catch(() => parsers.delete(language)); // a failed load is tried again next time
  }
  return parser;
}

function loadRuntime(): Promise<{ treeSitter: TreeSitter; dir: string }> {
  runtime ??= (async () => {
    // A UMD bundle: required, so that every loader (Node, vitest, the CLI's bundle) sees the same exports.
    const require = createRequire(import.meta.url);
    const treeSitter = require('@vscode/tree-sitter-wasm') as TreeSitter;
    const dir = path.dirname(require.resolve('@vscode/tree-sitter-wasm'));
    await treeSitter.Parser.init({ locateFile: (file: string) => path.join(dir, file) });
    return { treeSitter, dir };
  })();
  runtime.catch(() => {
    runtime = null;
  });
  return runtime;
}
