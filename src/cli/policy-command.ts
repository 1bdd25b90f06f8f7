/** `slipway policy`: the effective rules, where each came from, and the repository rules that were dropped. */
import path from 'node:path';
import { buildPolicy } from '../policy/index.js';
import { loadRepoConfig, loadUserConfig, slipwayHome } from './home.js';
import type { Output } from './output.js';

export interface PolicyFlags {
  repo: string;
  json?: boolean;
}

export async function policyCommand(flags: PolicyFlags, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const repo = path.resolve(flags.repo);
  const userFile = path.join(slipwayHome(env), 'config.json');
  const policy = buildPolicy({
    repository: (await loadRepoConfig(repo, undefined)).policy ?? [],
    user: (await loadUserConfig(slipwayHome(env))).policy ?? [],
  });
  if (flags.json) {
    out.stdout(JSON.stringify({ repo, rules: policy.rules, rejected: policy.rejected }, null, 2));
    return 0;
  }
  const rows = policy.rules.map((r) => [r.kind, r.pattern, r.action, r.source]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['kind', 'pattern', 'action'][i]!.length));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ')}`;
  out.stdout(`Policy for ${repo}: the last matching rule of an action's kind wins; no match means ask.`);
  out.stdout(`Layers: defaults, then ${path.join(repo, '.slipway/config.json')} at HEAD (may only tighten), then ${userFile}.`);
  out.stdout(`A file read matched by a read_secret rule is decided by it; other reads by the read rules.\n`);
  out.stdout(line(['kind', 'pattern', 'action', 'from']));
  for (const row of rows) out.stdout(line(row));
  if (policy.rejected.length) {
    out.stdout('\nRejected repository rules:');
    for (const r of policy.rejected) out.stdout(`  ${r.kind} \`${r.pattern}\` ${r.action}: ${r.reason}`);
  }
  return 0;
}
