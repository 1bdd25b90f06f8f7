/** Network from the sandbox as the policy says: a proxy for the run's commands when a rule allows some host. */
import type { Decision } from '../protocol/index.js';
import { describeRule } from '../protocol/index.js';
import type { buildPolicy } from '../policy/index.js';
import type { NetworkEgress, RunDeps } from './run-goal.js';

export interface PolicyNetwork {
  proxy: NetworkEgress;
  /** Puts the connections refused since the last call on the ledger. */
  record(): Promise<void>;
}

/** The run's egress proxy when a user's rule allows some host (the default asks for every host: no network). */
export async function startPolicyNetwork(policy: ReturnType<typeof buildPolicy>, deps: RunDeps, decide: (d: Decision) => Promise<void>): Promise<PolicyNetwork | null> {
  const allowing = policy.rules.filter((r) => r.kind === 'network' && r.action === 'allow');
  if (!allowing.length || !deps.startNetwork) return null;
  const proxy = await deps.startNetwork((host, port) => {
    // A rule names a host (ports 443 and 80) or host:port.
    const exact = policy.evaluate('network', `${host}:${port}`);
    if (exact.action === 'allow') return { allowed: true };
    const byHost = policy.evaluate('network', host);
    if (byHost.action === 'allow' && (port === 443 || port === 80)) return { allowed: true };
    const rule = byHost.action === 'allow' ? exact.rule : byHost.rule;
    return { allowed: false, reason: `${describeRule(rule)}${byHost.action === 'ask' || exact.action === 'ask' ? '; a connection cannot wait for a person' : ''}` };
  });
  await decide({
    action: `let sandboxed commands reach the hosts the policy allows: ${allowing.map((r) => r.pattern).join(', ')}`,
    by: 'policy',
    autonomous: true,
    reason: `network rules that allow (${allowing.map((r) => describeRule(r)).join('; ')}); every other host is refused`,
  });
  const recorded = new Set<string>();
  return {
    proxy,
    async record() {
      for (const d of proxy.decisions()) {
        const key = `${d.host}:${d.port}:${d.allowed}`;
        if (recorded.has(key)) continue;
        recorded.add(key);
        await decide(
          d.allowed
            ? { action: `allow a command to reach ${d.host}:${d.port}`, by: 'policy', autonomous: true, reason: 'a network rule allows the host' }
            : { action: `refuse network from the sandbox to ${d.host}:${d.port}`, by: 'policy', autonomous: true, reason: d.reason ?? 'no rule allows it' },
        );
      }
    },
  };
}
