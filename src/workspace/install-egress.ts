/**
 * One dependency install's egress: the registry-only proxy for a repository, started on a socket in a private
 * folder under `socketRoot` (a folder no sandbox sees). Shared by `slipway run`, the merge gate and eval.
 */
import { registryHosts, allowEntries, type RegistryHost } from './registry-hosts.js';
import { startEgressProxy, type EgressDecision } from './egress-proxy.js';
import type { Env } from './env.js';

export interface InstallEgress {
  socketPath: string;
  allowed: RegistryHost[];
  decisions(): EgressDecision[];
  close(): Promise<void>;
}

export function installEgressStarter(opts: { home: string; env: Env; socketRoot: string }): (repoDir: string) => Promise<InstallEgress> {
  return async (repoDir) => {
    const allowed = await registryHosts({ repoDir, home: opts.home, env: opts.env });
    const proxy = await startEgressProxy({ allow: allowEntries(allowed), dir: opts.socketRoot });
    return { socketPath: proxy.socketPath, allowed, decisions: () => proxy.decisions(), close: () => proxy.close() };
  };
}
