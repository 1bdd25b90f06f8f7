import { z } from 'zod';
import { defineTool } from './define.js';
import { relativeTo, resolveInside } from './paths.js';
import { mayShow } from './policy-guard.js';
import { ripgrep } from './ripgrep.js';
import description from './list-files.md?raw';

const MAX_ENTRIES = 1000;

export const listFilesTool = defineTool({
  name: 'list_files',
  kind: 'read',
  description,
  params: z.object({ path: z.string().optional().describe('Folder relative to the repository root') }),
  async execute({ path: requested = '.' }, ctx) {
    const dir = await resolveInside(ctx.root, requested);
    const rel = relativeTo(ctx.root, dir);
    const out = await ripgrep(['--files', '--sort', 'path', rel], ctx.root, ctx.signal);
    const files = out.split('\n').filter((f) => f && mayShow(ctx, f));
    const shown = files.slice(0, MAX_ENTRIES);
    const more = files.length > shown.length ? `\n… ${files.length - shown.length} more (list a sub-folder)` : '';
    return {
      forModel: (shown.join('\n') || `(no files under ${rel})`) + more,
      display: `list ${rel} (${files.length} files)`,
    };
  },
});
