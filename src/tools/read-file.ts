import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { defineTool, ToolInputError } from './define.js';
import { relativeTo, resolveInside } from './paths.js';
import { pathSubjects, requireAllowed } from './policy-guard.js';
import description from './read-file.md?raw';

const MAX_FILE_BYTES = 2 * 1024 * 1024;
const DEFAULT_LIMIT = 2000;

export const readFileTool = defineTool({
  name: 'read_file',
  kind: 'read',
  description,
  params: z.object({
    path: z.string().min(1).describe('File path relative to the repository root'),
    offset: z.number().int().min(1).optional().describe('First line to read, 1-based'),
    limit: z.number().int().min(1).optional().describe('Number of lines to read'),
  }),
  async execute({ path: requested, offset = 1, limit = DEFAULT_LIMIT }, ctx) {
    const file = await resolveInside(ctx.root, requested);
    await requireAllowed(ctx, 'read', pathSubjects(ctx.root, requested, file), requested);
    const info = await stat(file).catch(() => null);
    if (!info) throw new ToolInputError(`File not found: ${requested}. Use list_files or search to find the right path.`);
    if (info.isDirectory()) throw new ToolInputError(`${requested} is a folder. Use list_files to see what it holds.`);
    if (info.size > MAX_FILE_BYTES) {
      throw new ToolInputError(
        `${requested} is ${info.size} bytes, too large to read whole. Use search to find the part you need.`,
      );
    }
    const buffer = await readFile(file);
    if (buffer.subarray(0, 8000).includes(0)) throw new ToolInputError(`${requested} is a binary file.`);
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const slice = lines.slice(offset - 1, offset - 1 + limit);
    // Windows line ends are not shown (edit_file matches and keeps them).
    const body = slice.map((line, i) => `${offset + i}: ${line.endsWith('\r') ? line.slice(0, -1) : line}`).join('\n');
    const more = offset - 1 + limit < lines.length ? `\n… ${lines.length - (offset - 1 + limit)} more lines (use offset)` : '';
    return {
      forModel: (body || '(empty file)') + more,
      display: `read ${relativeTo(ctx.root, file)} (${slice.length} lines)`,
    };
  },
});
