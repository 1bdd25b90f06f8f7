/** Submodules of a clone or a base checkout, filled from local copies only. */
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { git } from './git.js';

/**
 * Checks out the clone's submodules from the user's own copies of them (`.git/modules/<name>` in the user's
 * repository, as `git submodule update` left them), through file:// so that, as for the clone, no object file is
 * shared (a local path would hard-link them). Nothing else is reached: every other protocol is refused, and the
 * URLs in .gitmodules are never used. Nested submodules come the same way from the user's copy of their parent
 * (`.git/modules/<name>/modules/<nested>`), a few levels deep. Returns notices for what stayed empty.
 */
export async function populateSubmodules(dir: string, userRepo: string, path: string | undefined): Promise<string[]> {
  const common = (await git(['rev-parse', '--git-common-dir'], { cwd: userRepo, path, allowFailure: true })).stdout.trim();
  const modulesDir = common ? join(isAbsolute(common) ? common : join(userRepo, common), 'modules') : null;
  return fill(dir, modulesDir, userRepo, path, 0);
}

/** Fills the submodules of `dir` from the copies in `modulesDir` (null: there are none), then theirs. */
async function fill(dir: string, modulesDir: string | null, userRepo: string, path: string | undefined, depth: number): Promise<string[]> {
  const listed = await git(['config', '--file', '.gitmodules', '--get-regexp', '^submodule\\..*\\.path$'], { cwd: dir, path, allowFailure: true });
  const modules = listed.stdout
    .split('\n')
    .map((line) => /^submodule\.(.+)\.path (.+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, path: m[2]! }));
  if (modules.length === 0) return [];
  const local: typeof modules = [];
  for (const m of modules) {
    // A name or path that could leave the folders it names is passed over (git itself refuses such names).
    const safe = !m.name.split('/').includes('..') && !m.path.split('/').includes('..') && !isAbsolute(m.path);
    if (safe && modulesDir && (await exists(join(modulesDir, m.name, 'HEAD')))) local.push(m);
  }
  const populated: typeof modules = [];
  for (const m of local) {
    const only = ['-c', 'protocol.allow=never', '-c', 'protocol.file.allow=always', '-c', `submodule.${m.name}.url=file://${join(modulesDir!, m.name)}`];
    const updated = await git([...only, 'submodule', 'update', '--init', '--', m.path], { cwd: dir, path, allowFailure: true });
    if (updated.exitCode === 0) populated.push(m);
  }
  const notices: string[] = [];
  const empty = modules.filter((m) => !populated.includes(m)).map((m) => m.path);
  if (empty.length > 0) {
    const where = depth === 0 ? '' : ` of ${dir}`;
    notices.push(`the clone has these git submodules${where} empty (not checked out in ${userRepo}, or their commit is not there): ${empty.join(', ')}; code or tests that need them will not find them`);
  }
  // Their own submodules, from the copies git keeps inside each one's copy (modules/<name>/modules/<nested>).
  if (depth < MAX_DEPTH) {
    for (const m of populated) {
      const inner = join(dir, m.path);
      if (await exists(join(inner, '.gitmodules'))) notices.push(...(await fill(inner, join(modulesDir!, m.name, 'modules'), userRepo, path, depth + 1)));
    }
  }
  return notices;
}

/** How deep nested submodules are followed (a cycle of submodules would not end). */
const MAX_DEPTH = 4;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
