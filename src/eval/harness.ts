/** The harness's test run, as SWE-bench does it: patch, reset the test files, apply the test patch, run, decide. */
import { commandHeadline, type CommandRunner, type TestPlan } from '../protocol/index.js';
import { detectTestPlan, runTests, type CacheMounts, type DependencyCache, type InstallEgress } from '../workspace/index.js';
import { decideResolution, type Resolution } from './decide.js';
import type { EvalInstance } from './instances.js';
import { InstanceError, prepareEvalTree } from './repo.js';
import type { HarnessTests } from './result.js';

export interface HarnessOptions {
  instance: EvalInstance;
  /** The instance's local repository (branch eval-base at the base commit). */
  source: string;
  baseCommit: string;
  modelPatch: string;
  /** An empty folder for the patched tree. */
  dir: string;
  makeRunner(opts: { writableDirs: string[]; network: boolean; egressProxySocket?: string; dependencyCache: CacheMounts | null }): CommandRunner;
  /** The registry-only proxy for `setup_cmd`; without it setup gets the full network. */
  startEgress?: (repoDir: string) => Promise<InstallEgress>;
  /**
   * The shared dependency cache: `setup_cmd` gets the tree's keys writable (and Maven its settings.xml with the
   * proxy), the tests read-only (Maven offline). Written only by installs, never by the agent's commands.
   */
  dependencyCache?: DependencyCache;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface HarnessOutcome {
  resolution: Resolution;
  tests: HarnessTests;
  /** Head and tail of the setup and test output, for `<out>/<id>/test-output.txt`. */
  output: string;
}

export async function evaluatePatch(opts: HarnessOptions): Promise<HarnessOutcome> {
  const { instance, dir, signal } = opts;
  await prepareEvalTree(opts.source, dir, opts.baseCommit, { model: opts.modelPatch, test: instance.test_patch }, signal);
  const plan: TestPlan | null = await detectTestPlan(dir, {
    ...(instance.test_cmd ? { command: instance.test_cmd } : {}),
    ...(instance.setup_cmd ? { install: instance.setup_cmd } : {}),
  });
  if (!plan) {
    throw new InstanceError('no test command: the instance has no test_cmd and no test runner was recognised in the repository');
  }
  let output = '';
  if (plan.install) {
    // Dependency installs need the network; the tests themselves never get it.
    // Setup reaches only the package registries when the proxy is available.
    // The lease first: waiting for another install of the same lockfile must not hold a proxy open.
    const lease = (await opts.dependencyCache?.lease(dir, { proxied: Boolean(opts.startEgress), waitMs: opts.timeoutMs, signal })) ?? null;
    const egress = opts.startEgress ? await opts.startEgress(dir).catch(async (error: unknown) => { await lease?.release(); throw error; }) : null;
    const setup = await opts
      .makeRunner({ writableDirs: [dir], network: !egress, ...(egress ? { egressProxySocket: egress.socketPath } : {}), dependencyCache: lease?.mounts ?? null })
      .run(plan.install, { cwd: dir, timeoutMs: opts.timeoutMs, signal })
      .finally(() => Promise.all([egress?.close(), lease?.release()]));
    const reached = [...new Set((egress?.decisions() ?? []).filter((d) => d.allowed).map((d) => `${d.host}:${d.port}`))];
    const refused = (egress?.decisions() ?? []).filter((d) => !d.allowed).map((d) => `${d.host}:${d.port}`);
    if (egress) output += reached.length ? `(setup reached ${reached.join(', ')} through the registry proxy)\n` : '(setup reached no registry)\n';
    if (refused.length) output += `(egress refused: ${refused.join(', ')})\n`;
    if (lease) {
      const keys = lease.keys.map((k) => `${k.ecosystem} ${k.hash.slice(0, 12)}${lease.mounts ? (k.reused ? ' reused' : ' new') : ''}`).join(', ');
      output += lease.mounts ? `(dependency cache: ${keys})\n` : `(installed without the dependency cache, another install of ${keys} held it)\n`;
    }
    output += `$ ${plan.install}\n${setup.output}\n`;
    if (signal.aborted) throw new InstanceError('stopped');
    if (setup.exitCode !== 0) {
      throw new InstanceError(`setup \`${commandHeadline(plan.install)}\` failed (exit ${setup.exitCode ?? setup.signal}): ${setup.output.trim().split('\n').slice(-3).join(' ').slice(0, 400)}`);
    }
  }
  const tester = opts.makeRunner({ writableDirs: [dir], network: false, dependencyCache: opts.dependencyCache?.readOnly(dir) ?? null });
  const run = await runTests(tester, dir, plan, { timeoutMs: opts.timeoutMs, signal });
  output += `$ ${plan.command}\n${run.output}\n`;
  const resolution = decideResolution(run.tests, instance.FAIL_TO_PASS, instance.PASS_TO_PASS);
  const note = run.timedOut || run.counts === null ? (run.reason ?? 'output not parsed') : undefined;
  return {
    resolution,
    output,
    tests: {
      command: plan.command,
      fail_to_pass: resolution.fail_to_pass,
      pass_to_pass: resolution.pass_to_pass,
      counts: run.counts,
      ...(note ? { note } : {}),
    },
  };
}
