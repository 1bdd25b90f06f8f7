/**
 * `slipway demo`: the whole loop on the bundled example repository with the scripted model, no API key.
 * The example is copied into a fresh git repository under SLIPWAY_HOME so the bundled files stay untouched.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { doctor } from './doctor.js';
import { slipwayHome } from './home.js';
import type { Output } from './output.js';
import { runCommand } from './run-command.js';

export const DEMO_GOAL =
  'Fix cartTotal in src/cart.js: a discount is a percentage, so a 10% discount on a 200 subtotal must give 180, not 190.';

export function examplesDir(): string {
  // dist/slipway.cjs sits one level below the package root, src/cli/demo.ts two.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.endsWith(`${path.sep}cli`) ? path.resolve(here, '..', '..') : path.resolve(here, '..');
  return path.join(root, 'examples');
}

export async function demo(out: Output, env: NodeJS.ProcessEnv, flags: { json?: boolean }): Promise<number> {
  out.stderr('Checking prerequisites (slipway doctor):');
  const errOut: Output = { stdout: out.stderr, stderr: out.stderr };
  if ((await doctor(errOut, env)) !== 0) return 1;
  const source = path.join(examplesDir(), 'demo-cart');
  const repo = path.join(slipwayHome(env), 'demo', `cart-${Date.now()}`);
  await mkdir(path.dirname(repo), { recursive: true });
  await cp(source, repo, { recursive: true, filter: (src) => !src.endsWith('slipway-script.json') });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=Slipway Demo', '-c', 'user.email=demo@localhost', 'commit', '-q', '-m', 'Example shop with a discount bug');
  out.stderr(`\nExample repository: ${repo}\nGoal: ${DEMO_GOAL}\nModel: the scripted model bundled with the example (no API key needed)\n`);
  return runCommand(DEMO_GOAL, { repo, model: `script:${path.join(source, 'slipway-script.json')}`, ...(flags.json ? { json: true } : {}) }, out, env);
}
