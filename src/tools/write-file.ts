import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool, ToolInputError } from './define.js';
import { fileStart, relativeTo, resolveInside, toCrlf, writeFileNoFollow } from './paths.js';
import { pathSubjects, requireAllowed } from './policy-guard.js';
import description from './write-file.md?raw';

const MAX_WRITE_BYTES = 1024 * 1024;

export const writeFileTool = defineTool({
  name: 'write_file',
  kind: 'mutate',
  description,
  params: z.object({
    path: z.string().min(1).describe('File path relative to the repository root'),
    content: z.string().describe('The whole new content of the file'),
  }),
  async execute({ path: requested, content }, ctx) {
    if (Buffer.byteLength(content) > MAX_WRITE_BYTES) {
      throw new ToolInputError(`Content is larger than ${MAX_WRITE_BYTES} bytes; write smaller files.`);
    }
    const file = await resolveInside(ctx.root, requested, { forWrite: true });
    await requireAllowed(ctx, 'write', pathSubjects(ctx.root, requested, file), requested);
    await mkdir(path.dirname(file), { recursive: true });
    // Rewriting a file with Windows line ends keeps them: its start says which it uses.
    const crlf = !content.includes('\r') && ((await fileStart(file))?.includes('\r\n') ?? false);
    await writeFileNoFollow(file, crlf ? toCrlf(content) : content);
    const rel = relativeTo(ctx.root, file);
    return { forModel: `Wrote ${rel} (${content.split('\n').length} lines).`, display: `write ${rel}` };
  },
});
