/** Repository instructions the agent reads before planning: AGENTS.md, CONTRIBUTING, README (trimmed). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const SOURCES: Array<{ names: string[]; maxChars: number }> = [
  { names: ['AGENTS.md', 'AGENT.md', 'CLAUDE.md'], maxChars: 8000 },
  { names: ['CONTRIBUTING.md', 'CONTRIBUTING', '.github/CONTRIBUTING.md'], maxChars: 3000 },
  { names: ['README.md', 'README', 'README.rst', 'README.txt'], maxChars: 2000 },
];

export async function readInstructions(root: string): Promise<string> {
  const parts: string[] = [];
  for (const source of SOURCES) {
    for (const name of source.names) {
      const text = await readFile(path.join(root, name), 'utf8').catch(() => null);
      if (text === null) continue;
      const trimmed = text.length > source.maxChars ? `${text.slice(0, source.maxChars)}\n… (truncated)` : text;
      parts.push(`--- ${name} ---\n${trimmed.trim()}`);
      break;
    }
  }
  return parts.join('\n\n');
}
