/** Repository instructions the agent reads before planning: AGENTS.md, CONTRIBUTING, README (trimmed). */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const SOURCES: Array<{ names: string[]; maxChars: number }> = [
  { names: ['AGENTS.md', 'AGENT.md', 'CLAUDE.md'], maxChars: 8000 },
  { names: ['CONTRIBUTING.md', 'CONTRIBUTING', '.github/CONTRIBUTING.md'], maxChars: 3000 },
  { names: ['README.md', 'README', 'README.rst', 'README.txt'], maxChars: 2000 },
];

export async function readInstructions(root: string): Promise<string> {
  // The folders the names are in, listed once each (the top and .github): only names listed there are read, all
  // at once, instead of asking for each of a dozen names in turn.
  const folders = [...new Set(SOURCES.flatMap((s) => s.names.map((n) => path.dirname(n))))];
  const listed = new Set(
    (await Promise.all(folders.map(async (dir) => (await readdir(path.join(root, dir)).catch(() => [] as string[])).map((n) => path.join(dir, n))))).flat(),
  );
  // Per source, the first name there that reads as a file.
  const parts = await Promise.all(
    SOURCES.map(async (source) => {
      for (const name of source.names.filter((n) => listed.has(path.join(n)))) {
        const text = await readFile(path.join(root, name), 'utf8').catch(() => null);
        if (text === null) continue;
        const trimmed = text.length > source.maxChars ? `${text.slice(0, source.maxChars)}\n… (truncated)` : text;
        return `--- ${name} ---\n${trimmed.trim()}`;
      }
      return null;
    }),
  );
  return parts.filter((p) => p !== null).join('\n\n');
}
