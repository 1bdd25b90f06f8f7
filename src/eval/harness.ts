/** The harness's test run, as SWE-bench does it: patch, reset the test files, apply the test patch, run, decide. */
import type { CommandRunner, TestPlan } from '../protocol/index.js';
import { detectTestPlan, runTests, type InstallEgress } from '../workspace/index.js';
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
  makeRunner(opts: { writableDirs: string[]; network: boolean; egressProxySocket?: string }): CommandRunner;
  /** The registry-only proxy for `setup_cmd`; without it setup gets the full network. */
  startEgress?: (repoDir: string) => Promise<InstallEgress>;
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
    const egress = opts.startEgress ? await opts.startEgress(dir) : null;
    const setup = await opts
      .makeRunner({ writableDirs: [dir], network: !egress, ...(egress ? { egressProxySocket: egress.socketPath } : {}) })
      .run(plan.install, { cwd: dir, timeoutMs: opts.timeoutMs, signal })
      .finally(() => egress?.close());
    const refused = (egress?.decisions() ?? []).filter((d) => !d.allowed).map((d) => `${d.host}:${d.port}`);
    if (refused.length) output += `(egress refused: ${refused.join(', ')})\n`;
    output += `$ ${plan.install}\n${setup.output}\n`;
    if (signal.aborted) throw new InstanceError('stopped');
    if (setup.exitCode !== 0) {
      throw new InstanceError(`setup \`${plan.install}\` failed (exit ${setup.exitCode ?? setup.signal}): ${setup.output.trim().split('\n').slice(-3).join(' ').slice(0, 400)}`);
    }
  }
  const run = await runTests(opts.makeRunner({ writableDirs: [dir], network: false }), dir, plan, { timeoutMs: opts.timeoutMs, signal });
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
