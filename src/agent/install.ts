/**
 * Installing a repository's dependencies before its tests: in the sandbox (install scripts are the repository's
 * code), reaching only the package registries through the host-side egress proxy when one is available.
 */
import { commandHeadline, type CommandResult, type Decision } from '../protocol/index.js';
import type { CacheLease, InstallEgress } from '../workspace/index.js';
import { RunAborted, RunFailure } from './errors.js';
import type { RunDeps } from './run-goal.js';

export interface InstallRequest {
  /** The install command line, run in `dir`. */
  install: string;
  /** The clone. */
  dir: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Files the sandbox hides (the policy's secrets). */
  masks: (relativePath: string) => boolean;
  deps: Pick<RunDeps, 'makeRunner' | 'startEgress' | 'leaseDependencyCache'>;
  decide: (decision: Decision) => Promise<void>;
}

/** Runs the install; throws RunFailure (with what to do next) when it fails, RunAborted when stopped. */
export async function installDependencies(a: InstallRequest): Promise<void> {
  // Taken first: waiting for another install of the same lockfile must not hold a proxy open.
  const lease = a.deps.leaseDependencyCache ? await a.deps.leaseDependencyCache(a.dir, { proxied: Boolean(a.deps.startEgress), waitMs: a.timeoutMs, signal: a.signal }) : null;
  let egress: InstallEgress | null = null;
  let result: CommandResult;
  const refused: string[] = [];
  try {
    egress = a.deps.startEgress ? await a.deps.startEgress(a.dir) : null;
    await a.decide({
      action: `install dependencies with \`${commandHeadline(a.install)}\``,
      by: 'agent',
      autonomous: true,
      reason: egress
        ? 'the tests need them; installs run in the sandbox and reach only the package registries'
        : 'the tests need them; installs run with full network access (no registry proxy for this runner)',
    });
    if (egress) await a.decide(egressAllowDecision(egress));
    if (lease) await a.decide(cacheDecision(lease));
    const installer = a.deps.makeRunner({
      writableDirs: [a.dir],
      network: !egress,
      ...(egress ? { egressProxySocket: egress.socketPath } : {}),
      maskFile: a.masks,
      ...(a.deps.leaseDependencyCache ? { dependencyCache: lease?.mounts ?? null } : {}),
    });
    result = await installer.run(a.install, { cwd: a.dir, timeoutMs: a.timeoutMs, ...(a.signal ? { signal: a.signal } : {}) });
    if (egress) {
      // On the record, so a reused dependency cache shows: an install that found everything there reaches nothing.
      const reached = egress.decisions().filter((d) => d.allowed).map((d) => `${d.host}:${d.port}`);
      await a.decide({
        action: reached.length ? `dependency install reached ${reached.join(', ')}` : 'dependency install reached no registry',
        by: 'agent',
        autonomous: true,
        reason: reached.length ? 'through the registry-only egress proxy' : 'everything it needed was already in the dependency cache or the clone',
      });
    }
    for (const d of egress?.decisions() ?? []) {
      if (!d.allowed) {
        refused.push(`${d.host}:${d.port}`);
        await a.decide({ action: `refuse install egress to ${d.host}:${d.port}`, by: 'policy', autonomous: true, reason: d.reason ?? 'not a package registry' });
      }
    }
  } finally {
    await egress?.close();
    await lease?.release();
  }
  if (a.signal.aborted) throw new RunAborted('stopped by the user');
  if (result.exitCode !== 0) {
    throw new RunFailure(
      `Installing dependencies with \`${commandHeadline(a.install)}\` failed (exit ${result.exitCode ?? result.signal}):\n${result.output.slice(-2000)}`,
      refused.length
        ? `The install tried to reach ${refused.join(', ')}, which is not a package registry the configuration names. Add the registry to your npm/pip configuration, or set SLIPWAY_INSTALL_NETWORK=full to give installs the full network.`
        : 'Set the install command in .slipway/config.json ("test": {"install": "..."}) or fix the repository\'s dependencies.',
    );
  }
}

function egressAllowDecision(egress: InstallEgress): Decision {
  const fromRepo = egress.allowed.filter((h) => /repository/.test(h.source)).map((h) => `${h.host} (${h.source})`);
  return {
    action: `allow dependency installs to reach ${egress.allowed.map((h) => (h.port ? `${h.host}:${h.port}` : h.host)).join(', ')} (ports 443 and 80 unless given)`,
    by: 'policy',
    autonomous: true,
    reason: `the package registries of npm, pip, Go, cargo and Maven as their configuration names them; every other host is refused${fromRepo.length ? `; named by the repository itself: ${fromRepo.join(', ')}` : ''}`,
  };
}

function cacheDecision(lease: CacheLease): Decision {
  const keys = lease.keys.map((k) => `${k.ecosystem} ${k.hash.slice(0, 12)} (${k.files.join(', ')}${lease.mounts ? (k.reused ? ', reused' : ', new') : ''})`).join('; ');
  return lease.mounts
    ? {
        action: `use the shared dependency cache for ${keys}`,
        by: 'policy',
        autonomous: true,
        reason: 'keyed by the lockfile: this install may write only to its own keys; tests and commands see them read-only',
      }
    : {
        action: `install without the shared dependency cache for ${keys}`,
        by: 'agent',
        autonomous: true,
        reason: 'another install of the same lockfile held it for longer than the install may take',
      };
}
