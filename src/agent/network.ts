/**
 * Network from the sandbox as the policy says. Commands have no network unless a rule allows a host or a
 * person grants one: then they get a host-side proxy that asks the policy (and the grants) about every
 * connection. The agent asks for a host with the request_network tool; a rule that says `ask` (the default)
 * puts it to a person as a gate.
 */
import type { Decision, PolicyDecision } from '../protocol/index.js';
import { describeRule } from '../protocol/index.js';
import type { buildPolicy } from '../policy/index.js';
import type { NetworkEgress, RunDeps } from './run-goal.js';

type Policy = ReturnType<typeof buildPolicy>;

export interface PolicyNetwork {
  /** The proxy's socket for the sandbox, or null while no host may be reached. */
  socket(): string | null;
  /** What the rules say about host:port: a rule names a host (ports 443 and 80) or host:port. */
  evaluate(host: string, port: number): PolicyDecision;
  /**
   * Lets commands reach host:port for the rest of the run (a person approved, or a rule allows), starting the
   * proxy if none runs yet. Returns the socket, or null when this run has no way to give network.
   */
  grant(host: string, port: number): Promise<string | null>;
  /** Puts the connections made or refused since the last call on the ledger. */
  record(): Promise<void>;
  close(): Promise<void>;
}

export function evaluateNetwork(policy: Policy, host: string, port: number): PolicyDecision {
  const exact = policy.evaluate('network', `${host}:${port}`);
  if (exact.action === 'allow') return exact;
  const byHost = policy.evaluate('network', host);
  if (byHost.action === 'allow' && (port === 443 || port === 80)) return byHost;
  // The stricter of the two says why not.
  if (exact.action === 'deny' || byHost.action === 'deny') return exact.action === 'deny' ? exact : byHost;
  return byHost.action === 'allow' ? exact : byHost;
}

/**
 * The run's network. When a user's rule allows some host, the proxy starts now (and that is on the record);
 * otherwise it starts with the first grant. Without `deps.startNetwork` (no sandbox) nothing can be granted.
 */
export async function startPolicyNetwork(policy: Policy, deps: RunDeps, decide: (d: Decision) => Promise<void>): Promise<PolicyNetwork> {
  const granted = new Set<string>();
  let proxy: NetworkEgress | null = null;
  let starting: Promise<NetworkEgress> | null = null;
  const start = (): Promise<NetworkEgress> => {
    // A proxy that failed to start is tried again by the next grant.
    starting ??= deps.startNetwork!((host, port) => {
      if (granted.has(`${host}:${port}`)) return { allowed: true };
      const verdict = evaluateNetwork(policy, host, port);
      if (verdict.action === 'allow') return { allowed: true };
      return {
        allowed: false,
        reason: `${describeRule(verdict.rule)}${verdict.action === 'ask' ? '; the agent may ask a person for it with request_network' : ''}`,
      };
    }).then(
      (p) => (proxy = p),
      (error: unknown) => {
        starting = null;
        throw error;
      },
    );
    return starting;
  };

  const allowing = policy.rules.filter((r) => r.kind === 'network' && r.action === 'allow');
  if (allowing.length && deps.startNetwork) {
    await start();
    await decide({
      action: `let sandboxed commands reach the hosts the policy allows: ${allowing.map((r) => r.pattern).join(', ')}`,
      by: 'policy',
      autonomous: true,
      reason: `network rules that allow (${allowing.map((r) => describeRule(r)).join('; ')}); every other host is refused`,
    });
  }

  const recorded = new Set<string>();
  return {
    socket: () => proxy?.socketPath ?? null,
    evaluate: (host, port) => evaluateNetwork(policy, host, port),
    async grant(host, port) {
      if (!deps.startNetwork) return null;
      granted.add(`${host}:${port}`);
      return (await start()).socketPath;
    },
    async record() {
      for (const d of proxy?.decisions() ?? []) {
        const key = `${d.host}:${d.port}:${d.allowed}`;
        if (recorded.has(key)) continue;
        recorded.add(key);
        await decide(
          d.allowed
            ? { action: `allow a command to reach ${d.host}:${d.port}`, by: 'policy', autonomous: true, reason: granted.has(`${d.host}:${d.port}`) ? 'granted for this run' : 'a network rule allows the host' }
            : { action: `refuse network from the sandbox to ${d.host}:${d.port}`, by: 'policy', autonomous: true, reason: d.reason ?? 'no rule allows it' },
        );
      }
    },
    async close() {
      await (starting ? starting.then((p) => p.close()) : Promise.resolve());
    },
  };
}
