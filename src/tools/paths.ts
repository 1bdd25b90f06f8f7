import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ToolInputError } from './define.js';

/**
 * Resolves a model-supplied path inside the clone. Symlinks are resolved, so a link that points out of the
 * clone is refused like `../` would be. `forWrite` also refuses the clone's .git folder.
 */
export async function resolveInside(root: string, requested: string, opts: { forWrite?: boolean } = {}): Promise<string> {
  if (requested.includes('\0')) throw new ToolInputError('Path contains a NUL byte.');
  const candidate = path.resolve(root, requested);
  const real = await realpathOfNearest(candidate);
  if (!isInside(root, real)) {
    throw new ToolInputError(`Path "${requested}" is outside the repository. Use a path relative to the repository root.`);
  }
  const rel = path.relative(root, real);
  if (opts.forWrite && (rel === '.git' || rel.startsWith(`.git${path.sep}`))) {
    throw new ToolInputError(`Writing inside .git is not allowed. Edit the project's files instead.`);
  }
  return real;
}

export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * realpath of the path, or of its nearest existing ancestor joined with the rest (for files not yet written).
 * A component that exists but does not resolve is a dangling symlink: following it later (mkdir, writeFile)
 * could land anywhere, so it is refused here.
 */
async function realpathOfNearest(p: string): Promise<string> {
  const rest: string[] = [];
  let current = p;
  for (;;) {
    try {
      const real = await realpath(current);
      return path.join(real, ...rest.reverse());
    } catch {
      if (await lstat(current).then((s) => s.isSymbolicLink(), () => false)) {
        throw new ToolInputError(`"${path.basename(current)}" is a symbolic link that does not resolve; it cannot be followed. Use a real path.`);
      }
      const parent = path.dirname(current);
      if (parent === current) return p;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

/** Writes a file without following a symlink at the last step (a link swapped in after the check is refused). */
export async function writeFileNoFollow(file: string, content: string): Promise<void> {
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ELOOP') throw new ToolInputError(`${path.basename(file)} is a symbolic link; write the file it points to by its real path.`);
      throw error;
    },
  );
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}

export function relativeTo(root: string, abs: string): string {
  return path.relative(root, abs) || '.';
}

/**
 * Windows line ends: read_file and search show lines without the `\r`, so text from the model has `\n` only.
 * Written into a file that uses `\r\n`, it takes the file's line ends.
 */
export function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

/** The start of a regular file (never read through a link, or from a FIFO), or null when there is none. */
export async function fileStart(file: string, bytes = 64 * 1024): Promise<Buffer | null> {
  if (!(await lstat(file).catch(() => null))?.isFile()) return null;
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
  if (!handle) return null;
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
