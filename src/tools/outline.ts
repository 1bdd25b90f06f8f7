import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { languageOf, outline, SYNTAX_EXTENSIONS } from '../workspace/index.js';
import { defineTool, ToolInputError } from './define.js';
import type { ToolContext, ToolOutcome } from './define.js';
import { relativeTo, resolveInside } from './paths.js';
import { mayShow, pathSubjects, requireAllowed } from './policy-guard.js';
import { ripgrep } from './ripgrep.js';
import description from './outline.md?raw';

const MAX_FILE_BYTES = 2 * 1024 * 1024;
/** A folder's outline: at most this many lines, and files of at most this size. */
const MAX_FOLDER_LINES = 400;
const MAX_FOLDER_FILE_BYTES = 512 * 1024;

export const outlineTool = defineTool({
  name: 'outline',
  kind: 'read',
  description,
  params: z.object({
    path: z.string().min(1).describe('Source file or folder, relative to the repository root'),
  }),
  async execute({ path: requested }, ctx) {
    const file = await resolveInside(ctx.root, requested);
    await requireAllowed(ctx, 'read', pathSubjects(ctx.root, requested, file), requested);
    const info = await stat(file).catch(() => null);
    if (!info) throw new ToolInputError(`File not found: ${requested}. Use list_files or search to find the right path.`);
    if (info.isDirectory()) return outlineFolder(file, ctx);
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

/** The top-level definitions of each source file under a folder that git does not ignore and the policy shows. */
async function outlineFolder(dir: string, ctx: ToolContext): Promise<ToolOutcome> {
  const rel = relativeTo(ctx.root, dir);
  const files = (await ripgrep(['--files', '--sort', 'path', rel], ctx.root, ctx.signal)).split('\n').filter((f) => f && languageOf(f) && mayShow(ctx, f));
  const lines: string[] = [];
  let outlined = 0;
  let looked = 0;
  for (const f of files) {
    if (lines.length >= MAX_FOLDER_LINES) break;
    looked++;
    // Each file is resolved again: a link out of the clone is passed over.
    const file = await resolveInside(ctx.root, f).catch(() => null);
    const info = file ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile() || info.size > MAX_FOLDER_FILE_BYTES) continue;
    const text = await readFile(file, 'utf8');
    const { definitions } = await outline(text, languageOf(f)!, MAX_FOLDER_LINES).catch(() => ({ definitions: [] }));
    const top = definitions.filter((d) => d.depth === 0);
    outlined++;
    if (top.length === 0) continue;
    lines.push(f, ...top.map((d) => `  ${d.line}: ${d.header}`));
  }
  const left = files.length - looked;
  const more = left > 0 ? `\n… ${left} more source files (outline a sub-folder or a file)` : '';
  return {
    forModel: (lines.length ? lines.slice(0, MAX_FOLDER_LINES).join('\n') : `(no definitions in the source files under ${rel})`) + more,
    display: `outline ${rel}/ (${outlined} files)`,
  };
}
