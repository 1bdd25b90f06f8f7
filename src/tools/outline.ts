import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { languageOf, outline, SYNTAX_EXTENSIONS } from '../workspace/index.js';
import { defineTool, ToolInputError } from './define.js';
import { relativeTo, resolveInside } from './paths.js';
import { pathSubjects, requireAllowed } from './policy-guard.js';
import description from './outline.md?raw';

const MAX_FILE_BYTES = 2 * 1024 * 1024;

export const outlineTool = defineTool({
  name: 'outline',
  kind: 'read',
  description,
  params: z.object({
    path: z.string().min(1).describe('Source file path relative to the repository root'),
  }),
  async execute({ path: requested }, ctx) {
    const file = await resolveInside(ctx.root, requested);
    await requireAllowed(ctx, 'read', pathSubjects(ctx.root, requested, file), requested);
    const info = await stat(file).catch(() => null);
    if (!info) throw new ToolInputError(`File not found: ${requested}. Use list_files or search to find the right path.`);
    if (info.isDirectory()) throw new ToolInputError(`${requested} is a folder. Use list_files to see what it holds.`);
    const language = languageOf(file);
    if (!language) {
      throw new ToolInputError(`outline does not know the language of ${requested} (it knows ${SYNTAX_EXTENSIONS.join(' ')}). Use search or read_file.`);
    }
    if (info.size > MAX_FILE_BYTES) throw new ToolInputError(`${requested} is ${info.size} bytes, too large to outline. Use search to find the part you need.`);
    const text = await readFile(file, 'utf8');
    const rel = relativeTo(ctx.root, file);
    const { definitions, truncated } = await outline(text, language).catch((e: unknown) => {
      throw new ToolInputError(`Could not parse ${requested} (${e instanceof Error ? e.message : String(e)}). Use search or read_file.`);
    });
    const lines = text.split('\n').length;
    if (definitions.length === 0) return { forModel: `${rel} (${lines} lines): no definitions found.`, display: `outline ${rel} (none)` };
    const width = String(definitions.at(-1)!.line).length;
    const body = definitions.map((d) => `${String(d.line).padStart(width)}: ${'  '.repeat(d.depth)}${d.header}`).join('\n');
    return {
      forModel: `${rel} (${lines} lines), ${definitions.length} definitions:\n${body}${truncated ? '\n… more definitions left out; read the file in parts' : ''}`,
      display: `outline ${rel} (${definitions.length} definitions)`,
    };
  },
});
