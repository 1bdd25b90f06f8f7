import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineTool, ToolInputError } from './define.js';
import { relativeTo, resolveInside, toCrlf, writeFileNoFollow } from './paths.js';
import { pathSubjects, requireAllowed } from './policy-guard.js';
import description from './edit-file.md?raw';

export const editFileTool = defineTool({
  name: 'edit_file',
  kind: 'mutate',
  description,
  params: z.object({
    path: z.string().min(1).describe('File path relative to the repository root'),
    old_text: z.string().min(1).describe('Exact text to replace'),
    new_text: z.string().describe('Replacement text'),
    replace_all: z.boolean().optional().describe('Replace every occurrence'),
  }),
  async execute({ path: requested, old_text, new_text, replace_all = false }, ctx) {
    const file = await resolveInside(ctx.root, requested, { forWrite: true });
    // Editing reads too (and its errors quote the file), so a secret file cannot be edited either.
    await requireAllowed(ctx, 'read', pathSubjects(ctx.root, requested, file), requested);
    await requireAllowed(ctx, 'write', pathSubjects(ctx.root, requested, file), requested);
    const bytes = await readFile(file).catch(() => {
      throw new ToolInputError(`File not found: ${requested}. Use write_file to create a new file.`);
    });
    // Decoding text that is not UTF-8 (Latin-1, Shift-JIS) and writing it back would change every byte that is
    // not ASCII, far from the edit: refused, with a way that keeps the encoding.
    let content: string;
    try {
      content = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes); // a BOM stays as it is
    } catch {
      throw new ToolInputError(
        `${requested} is not UTF-8 text, and editing it here would change its other characters. Edit it with a shell command that keeps its encoding (sed, or python with the file's encoding).`,
      );
    }
    // A file with Windows line ends (read_file shows its lines without the \r): the model's text is matched and
    // written with them, so the file keeps its line ends.
    const crlf = !old_text.includes('\r') && content.includes('\r\n') && countOccurrences(content, old_text) === 0;
    const oldText = crlf ? toCrlf(old_text) : old_text;
    const newText = crlf ? toCrlf(new_text) : new_text;
    const count = countOccurrences(content, oldText);
    if (count === 0) {
      throw new ToolInputError(
        `old_text was not found in ${requested}. ${nearMiss(content, old_text)}Read the file again and copy the text exactly, including indentation.`,
      );
    }
    if (count > 1 && !replace_all) {
      throw new ToolInputError(
        `old_text appears ${count} times in ${requested}. Include more surrounding lines to make it unique, or set replace_all.`,
      );
    }
    const updated = replace_all ? content.split(oldText).join(newText) : content.replace(oldText, () => newText);
    await writeFileNoFollow(file, updated);
    const rel = relativeTo(ctx.root, file);
    return { forModel: `Edited ${rel}: replaced ${count} occurrence(s).`, display: `edit ${rel}` };
  },
});

function countOccurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) count++;
  return count;
}

/** When the first line of old_text exists with different whitespace, say so: the commonest model mistake. */
function nearMiss(content: string, oldText: string): string {
  const first = oldText.split('\n').find((l) => l.trim().length > 0)?.trim();
  if (!first) return '';
  const lines = content.split('\n');
  const hit = lines.findIndex((l) => l.trim() === first);
  return hit === -1 ? '' : `A line matching "${first}" exists at line ${hit + 1} but the surrounding text or whitespace differs. `;
}
