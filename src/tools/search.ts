import { z } from 'zod';
import { defineTool } from './define.js';
import { relativeTo, resolveInside } from './paths.js';
import { mayShow, pathSubjects, requireAllowed } from './policy-guard.js';
import { ripgrep } from './ripgrep.js';
import description from './search.md?raw';

const MAX_MATCHES = 200;

export const searchTool = defineTool({
  name: 'search',
  kind: 'read',
  description,
  params: z.object({
    pattern: z.string().min(1).describe('Regular expression'),
    path: z.string().optional().describe('Folder or file to search, relative to the repository root'),
    glob: z.string().optional().describe('Only files matching this glob, e.g. *.ts'),
  }),
  async execute({ pattern, path: requested = '.', glob }, ctx) {
    const resolved = await resolveInside(ctx.root, requested);
    await requireAllowed(ctx, 'read', pathSubjects(ctx.root, requested, resolved), requested);
    const target = relativeTo(ctx.root, resolved);
    // --null ends each file name with NUL, so the name is known exactly and files the policy hides are dropped.
    const args = ['--line-number', '--with-filename', '--null', '--max-columns', '300', '--max-count', '50', '--sort', 'path'];
    if (glob) args.push('--glob', glob);
    args.push('--regexp', pattern, target);
    const out = await ripgrep(args, ctx.root, ctx.signal);
    const lines: string[] = [];
    for (const line of out.split('\n')) {
      const nul = line.indexOf('\0');
      if (nul === -1 || !mayShow(ctx, line.slice(0, nul))) continue;
      // As read_file shows them: without a Windows line end.
      lines.push(`${line.slice(0, nul)}:${line.slice(nul + 1).replace(/\r$/, '')}`);
    }
    const shown = lines.slice(0, MAX_MATCHES);
    const more = lines.length > shown.length ? `\n… ${lines.length - shown.length} more matches (narrow the search)` : '';
    return {
      forModel: (shown.join('\n') || `No matches for /${pattern}/ in ${target}.`) + more,
      display: `search /${pattern}/ (${lines.length} matches)`,
    };
  },
});
