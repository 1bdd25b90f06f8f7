/**
 * The dependency cache shared between runs, with the real CLI, the real sandbox and the real npm registry:
 * the first run's install fills the cache of its lockfile, the second run's install reaches no registry,
 * and once the cache is cleared an offline install has nothing to install from.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoTurns, lastLine, useScenario } from '../core/scenario.js';

const PACKAGE = {
  name: 'demo-cart',
  version: '1.0.0',
  private: true,
  type: 'module',
  scripts: { test: 'node --test' },
  dependencies: { 'is-number': '7.0.0' },
};
const LOCK = {
  name: 'demo-cart',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'demo-cart', version: '1.0.0', dependencies: { 'is-number': '7.0.0' } },
    'node_modules/is-number': {
      version: '7.0.0',
      resolved: 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
      integrity: 'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
      engines: { node: '>=0.12.0' },
    },
  },
};

interface Decision {
  action: string;
  reason: string;
}
const decisions = (lines: Array<Record<string, unknown>>): Decision[] => lines.filter((e) => e.type === 'decision').map((e) => e.decision as Decision);
const actions = (lines: Array<Record<string, unknown>>) => decisions(lines).map((d) => d.action);

describe('the dependency cache shared between runs', () => {
  const s = useScenario('demo-cart', {
    'package.json': JSON.stringify(PACKAGE, null, 2),
    'package-lock.json': JSON.stringify(LOCK, null, 2),
    '.gitignore': 'node_modules/\n',
  });

  const run = async () => {
    s.h.server.turns(demoTurns());
    return s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
  };

  it('a second run with the same lockfile installs from the cache, reaching no registry', async () => {
    const first = await run();
    expect(lastLine(first), first.stderr).toMatchObject({ status: 'pr_open' });
    const firstActions = actions(first.json);
    const used = firstActions.find((a) => a.startsWith('use the shared dependency cache for node '));
    expect(used).toMatch(/node ([0-9a-f]{12}) \(package-lock\.json, new\)/);
    expect(firstActions).toContain('dependency install reached registry.npmjs.org:443');
    const hash = /node ([0-9a-f]{12})/.exec(used!)![1]!;
    const nodeCache = path.join(s.h.home, 'cache', 'deps', 'node');
    const entry = path.join(nodeCache, readdirSync(nodeCache).find((n) => n.startsWith(hash) && !n.endsWith('.lock'))!);
    expect(existsSync(path.join(entry, 'npm', '_cacache'))).toBe(true);

    const second = await run();
    expect(lastLine(second), second.stderr).toMatchObject({ status: 'pr_open' });
    const secondActions = actions(second.json);
    expect(secondActions).toContain(`use the shared dependency cache for node ${hash} (package-lock.json, reused)`);
    expect(secondActions).toContain('dependency install reached no registry');

    // Clearing the cache is removing its folder: an offline install then has nothing to install from.
    rmSync(path.join(s.h.home, 'cache', 'deps'), { recursive: true, force: true });
    s.h.userConfig({ test: { install: 'npm ci --offline' } });
    const third = await run();
    expect(lastLine(third)).toMatchObject({ status: 'failed' });
    expect(String(lastLine(third).error)).toMatch(/ENOTCACHED|offline/i);
  }, 180_000);
});
