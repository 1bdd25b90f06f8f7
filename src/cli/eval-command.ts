/** `slipway eval`: wires store, model, sandbox and config for an SWE-bench-format evaluation, then prints the table. */
import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CommandRunner, SlipwayConfig } from '../protocol/index.js';
import type { CacheMounts } from '../workspace/index.js';
import { mergeConfig } from '../protocol/index.js';
import { loadRepoConfig, loadUserConfig, slipwayHome, userHome, UsageError } from './home.js';
import type { Output } from './output.js';
import { onInterrupt } from './interrupt.js';
import { EXIT } from './run-command.js';

export interface EvalFlags {
  model?: string;
  baseUrl?: string;
  concurrency?: string;
  out?: string;
  instances?: string;
  maxSteps?: string;
  maxDollars?: string;
  verifyRounds?: string;
}

function positive(value: string | undefined, name: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} must be a positive ${integer ? 'whole ' : ''}number, got "${value}".`);
  }
  return n;
}

function flagLayer(flags: EvalFlags): SlipwayConfig {
  const steps = positive(flags.maxSteps, '--max-steps', true);
  const dollars = positive(flags.maxDollars, '--max-dollars', false);
  const rounds = positive(flags.verifyRounds, '--verify-rounds', true);
  const budgets = { ...(steps ? { steps } : {}), ...(dollars ? { dollars } : {}) };
  return {
    ...(flags.model ? { model: flags.model } : {}),
    ...(flags.baseUrl ? { baseUrl: flags.baseUrl } : {}),
    ...(Object.keys(budgets).length ? { budgets } : {}),
    ...(rounds ? { verifyRounds: rounds } : {}),
  };
}

export async function evalCommand(file: string, flags: EvalFlags, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const concurrency = positive(flags.concurrency, '--concurrency', true) ?? 1;
  const only = flags.instances
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (flags.instances !== undefined && !only?.length) throw new UsageError('--instances needs a comma-separated list of instance ids.');
  const flagConfig = flagLayer(flags);
  const instancesFile = path.resolve(file);
  const outDir = path.resolve(flags.out ?? `slipway-eval-${path.basename(file).replace(/\.[^.]*$/, '') || 'out'}`);
  if (!(await stat(instancesFile).catch(() => null))?.isFile()) {
    out.stderr(`✗ the instances file ${instancesFile} does not exist.\n  Pass a JSONL file with one SWE-bench instance a line (see "Evaluation" in README.md).`);
    return EXIT.error;
  }
  const home = slipwayHome(env);
  const userConfig = await loadUserConfig(home);
  const config = mergeConfig(userConfig, flagConfig);

  const workspace = await import('../workspace/index.js');
  if (!workspace.findBwrap(env)) {
    out.stderr('✗ bubblewrap (bwrap) is not installed, and the agent and the tests of every instance run inside it.\n  Install it (Debian/Ubuntu: sudo apt-get install bubblewrap).');
    return EXIT.error;
  }
  const evalModule = await import('../eval/index.js');
  let factory: Awaited<ReturnType<typeof evalModule.createModelFactory>>;
  try {
    factory = await evalModule.createModelFactory(config.model, {
      ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
      env,
      giveUpAfterMs: config.modelGiveUpSeconds * 1000,
    });
  } catch (error) {
    const e = error as { message?: string; hint?: string };
    out.stderr(`✗ ${e.message ?? String(error)}${e.hint ? `\n  ${e.hint}` : ''}`);
    return EXIT.error;
  }
  if (factory.shared && concurrency > 1) {
    out.stderr(`⚠ ${config.model} is one sequence shared by every instance: with --concurrency ${concurrency} the order instances take turns in is not fixed. Use script:<dir> for one script per instance.`);
  }

  // Caches (Go modules and build cache, npm, pip) last the whole evaluation and are writable in the sandbox;
  // the agents' and the harness's are apart, so nothing an agent leaves in a cache decides a verdict.
  // The dependency cache (dep-cache.ts: one folder per lockfile hash, Maven's generated settings.xml) is this
  // evaluation's own, under <out>, never SLIPWAY_HOME's: there the installs of merge gates run code an agent
  // wrote, and a verdict must not read what they left. Here it is written only by installs (the agents', of the
  // base commit before the model acts, and the harness's setup), and every other command sees it read-only.
  const dependencies = workspace.createDependencyCache({ root: path.join(outDir, 'cache', 'deps') });
  type RunnerOptions = { writableDirs: string[]; seenAs?: string; network: boolean; egressProxySocket?: string; dependencyCache?: CacheMounts | null };
  const runnersFor = async (role: 'agent' | 'harness') => {
    const cacheDir = path.join(outDir, 'cache', role);
    // An agent's install writes the dependency cache: it gets a build cache the agent's commands cannot write,
    // so nothing they leave there runs while the cache is writable.
    const installCacheDir = role === 'agent' ? path.join(outDir, 'cache', 'agent-install') : cacheDir;
    for (const dir of new Set([cacheDir, installCacheDir])) await mkdir(path.join(dir, 'gomod'), { recursive: true });
    return (o: RunnerOptions): CommandRunner => {
      const make = (dependencyCache: CacheMounts | null) => {
        const dir = dependencyCache?.mode === 'writable' ? installCacheDir : cacheDir;
        return workspace.createSandboxRunner({ ...o, home: userHome(env), env: { ...env, GOMODCACHE: path.join(dir, 'gomod') }, cacheDir: dir, dependencyCache });
      };
      // As in `slipway run`: a runner made before the install fills the clone's keys looks them up until it finds them.
      if (o.dependencyCache !== undefined || !o.writableDirs[0]) return make(o.dependencyCache ?? null);
      return workspace.readingCacheRunner(dependencies, o.writableDirs[0], make);
    };
  };
  const runners = { agent: await runnersFor('agent'), harness: await runnersFor('harness') };

  const { openSqliteStore } = await import('../store/index.js');
  const store = await openSqliteStore(path.join(outDir, 'slipway.db'));
  const interrupt = onInterrupt(out, 'finished instances are kept; rerun the same command to resume');
  try {
    const outcome = await evalModule.runEval(
      { instancesFile, out: outDir, modelName: config.model, concurrency, ...(only ? { only } : {}) },
      {
        store,
        modelFor: (id, onRetry) => factory.modelFor(id, onRetry),
        runnersFor: (role) => runners[role],
        dependencyCache: dependencies,
        ...(env.SLIPWAY_INSTALL_NETWORK === 'full' ? {} : { startEgress: workspace.installEgressStarter({ home: userHome(env), env, socketRoot: os.tmpdir() }) }),
        configLayers: [userConfig, flagConfig],
        loadRepoConfig,
        signal: interrupt.signal,
        onStart: (id) => out.stderr(`▶ ${id}`),
        onResult: (r, resumed) => {
          const mark = r.status === 'resolved' ? '✓' : r.status === 'error' ? '!' : '✗';
          const detail = resumed ? 'already done, kept' : `${r.wall_seconds.toFixed(1)}s${r.reason ? `: ${r.reason.replace(/\s+/g, ' ').slice(0, 160)}` : ''}`;
          out.stderr(`${mark} ${r.instance_id} ${r.status} (${detail})`);
        },
      },
    );
    out.stdout(evalModule.formatSummary(outcome.report, outcome.results));
    out.stdout(`\nreport: ${path.join(outDir, evalModule.REPORT_FILE)}\npredictions: ${path.join(outDir, evalModule.PREDICTIONS_FILE)}`);
    if (outcome.stopped) {
      out.stderr(`stopped: ${outcome.report.incomplete_ids.length} instances not finished; rerun the same command to resume.`);
      return EXIT.stopped;
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof evalModule.EvalInputError) {
      out.stderr(`✗ ${error.message}`);
      return EXIT.error;
    }
    throw error;
  } finally {
    interrupt.dispose();
    await store.close();
  }
}
