/** `slipway run`: wires config, model, store and sandbox, then drives the core loop. */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Decision, EffectiveConfig, Gate, ModelClient, SlipwayConfig } from '../protocol/index.js';
import { DEFAULT_CONFIG, describeHinted, mergeConfigLayers, newId } from '../protocol/index.js';
import { ConfigError, dependencyCacheRoot, ensureHome, loadRepoConfig, loadUserConfig, slipwayHome, userHome, UsageError } from './home.js';
import { createProgress } from './progress.js';
import { afterAnswer, writer, type Output } from './output.js';
import { NotFoundError } from './records.js';
import { onInterrupt, STOPPED_EXIT } from './interrupt.js';
import type { RunDeps } from '../agent/index.js';
import type { CacheMounts } from '../workspace/index.js';

export interface RunFlags {
  repo: string;
  base?: string;
  model?: string;
  baseUrl?: string;
  json?: boolean;
  record?: string;
  maxSteps?: string;
  maxTokens?: string;
  maxDollars?: string;
  maxMinutes?: string;
  verifyRounds?: string;
  testCommand?: string;
  sandbox?: boolean;
  /** `--wait [duration]`: block at a gate for an answer (true: the default time). */
  wait?: string | boolean;
  approvePlan?: boolean;
}

/** How long `--wait` blocks without a duration. */
export const DEFAULT_WAIT_SECONDS = 3600;

/** `--wait` as milliseconds: `90`, `90s`, `15m`, `2h`; undefined when not waiting. */
export function parseWait(value: string | boolean | undefined): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return DEFAULT_WAIT_SECONDS * 1000;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(value);
  const n = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'] : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--wait takes a duration such as 90s, 15m or 2h, got "${value}".`);
  return n * 1000;
}

/** A run that goes on: after a stop or an escalation, after a gate was answered, or to revise its pull request. */
export interface ResumeRequest {
  runId: string;
  answer?: string;
  gate?: Gate;
  revise?: { pr: string; feedback: string };
}

export const EXIT = { ok: 0, error: 1, usage: 2, escalated: 3, awaitingApproval: 4, stopped: STOPPED_EXIT } as const;

export async function runCommand(
  goal: string,
  flags: RunFlags,
  out: Output,
  env: NodeJS.ProcessEnv,
  resume?: ResumeRequest,
): Promise<number> {
  const waitMs = parseWait(flags.wait);
  if (!goal.trim()) throw new UsageError('The goal is empty. Say what you want done, e.g. slipway run "fix the failing date parser" --repo .');
  const home = slipwayHome(env);
  const repo = path.resolve(flags.repo);
  const runId = resume?.runId ?? newId('r');
  const finish = (line: Record<string, unknown>, code: number, human: string) => {
    if (flags.json) out.stdout(redactor.redact(JSON.stringify(line)));
    else out.stdout(redactor.redact(human));
    return code;
  };

  // Load every module the run needs at once: their file reads overlap, and so does opening the store.
  const workspaceModule = import('../workspace/index.js');
  const modules = Promise.all([
    workspaceModule,
    import('../model/index.js'),
    import('../agent/index.js'),
  ]);
  modules.catch(() => undefined);
  const flagConfig = flagLayer(flags);
  // A new run's clone starts at once, before any other process: git works beside reading the config, opening the
  // store and loading the model client. It commits as the default author; a config that names another makes the
  // run clone again (prepareAhead). A run that fails before it needs the clone removes it (abandon, below).
  const ahead = resume
    ? Promise.resolve(null)
    : workspaceModule.then((workspace) => {
        const bwrap = flags.sandbox === false ? null : workspace.findBwrap(env);
        if (flags.sandbox !== false && !bwrap) return null;
        const early = workspace.prepareAhead({
          repo,
          ...(flags.base ? { base: flags.base } : {}),
          runId,
          slug: workspace.slugify(goal),
          workspacesDir: path.join(home, 'workspaces'),
          author: DEFAULT_CONFIG.author,
        });
        // The sandbox's first runner needs bwrap's options: asked now, beside the clone.
        if (bwrap) void workspace.probeBwrapFeatures(bwrap);
        return early;
      });
  ahead.catch(() => undefined);
  const configured = ahead
    .catch(() => null)
    .then(() => Promise.all([loadRepoConfig(repo, flags.base), loadUserConfig(home)]))
    .then(([repository, user]) => mergeConfigLayers({ repository, user, flags: flagConfig }));
  configured.catch(() => undefined); // awaited below, where a ConfigError becomes a failed run
  let handedOver = false;
  const abandonAhead = async () => {
    if (!handedOver) await (await ahead.catch(() => null))?.abandon();
  };
  const [{ openSqliteStore }, { createRedactor, redactingModel, redactingStore }] = await Promise.all([
    import('../store/index.js'),
    import('../policy/redact.js'),
  ]);
  // Secrets never reach the model, the event log, recordings or pull request bodies.
  const redactor = createRedactor(env);
  let opened: Awaited<ReturnType<typeof openSqliteStore>>;
  try {
    await ensureHome(home, env);
    opened = await openSqliteStore(path.join(home, 'slipway.db'));
  } catch (error) {
    // No store to record the run in: it is not recorded, but --json still ends with its status line.
    await abandonAhead();
    const { message, hint } = describeHinted(error);
    const text = [message, hint].filter(Boolean).join(' ');
    return finish({ run: runId, status: 'failed', pr: null, error: text }, EXIT.error, `✗ ${message}${hint ? `\n  ${hint}` : ''}\n  (run ${runId} could not be recorded)`);
  }
  const store = redactingStore(opened, redactor);
  const interrupt = onInterrupt(out, 'the work so far is kept');
  try {
    // Errors before the loop starts still get a run record, so `--json` always ends with a status line.
    const failEarly = async (message: string, hint: string) => {
      if (!resume) await store.createRun({ id: runId, goal, repo, base: flags.base ?? '', model: flags.model ?? '' });
      await store.updateRun(runId, { status: 'failed', error: `${message} ${hint}` });
      return finish({ run: runId, status: 'failed', pr: null, error: `${message} ${hint}` }, EXIT.error, `✗ ${message}\n  ${hint}\n  run: ${runId}`);
    };

    let config: EffectiveConfig;
    try {
      config = await configured;
    } catch (error) {
      if (error instanceof ConfigError) return await failEarly(error.message, error.hint);
      throw error;
    }

    const decisions: Decision[] = [];
    const [workspace, { createModelClient }, { runGoal }] = await modules;
    // A build cache per run (Go's, npm's, pip's): commands of one run share it, runs never do.
    const cacheDir = path.join(home, 'workspaces', runId, 'cache');
    let makeRunner: RunDeps['makeRunner'];
    let startEgress: RunDeps['startEgress'];
    let leaseDependencyCache: RunDeps['leaseDependencyCache'];
    let startNetwork: RunDeps['startNetwork'];
    if (flags.sandbox === false) {
      out.stderr('⚠ --no-sandbox: commands the agent runs have your full user rights, your files and the network.');
      decisions.push({ action: 'run commands without a sandbox', by: 'person', autonomous: false, reason: '--no-sandbox was given on the command line' });
      makeRunner = (o) => workspace.createPlainRunner({ ...o, home: userHome(env), env });
    } else {
      if (!workspace.findBwrap(env)) {
        return await failEarly(
          'bubblewrap (bwrap) is not installed, and Slipway runs every command the agent makes inside it.',
          'Install it (Debian/Ubuntu: sudo apt-get install bubblewrap), or pass --no-sandbox to run unsandboxed (not recommended).',
        );
      }
      decisions.push({ action: 'run commands in the bubblewrap sandbox', by: 'policy', autonomous: true, reason: 'default policy: no network, only the clone and a private /tmp writable, secrets stripped' });
      // The dependency cache shared between runs, per lockfile: writable for the install that leases it,
      // read-only for every other command (see dep-cache.ts and "Dependency cache" in README.md).
      const dependencies = workspace.createDependencyCache({ root: dependencyCacheRoot(home), maxAgeDays: workspace.cacheDaysFromEnv(env) });
      leaseDependencyCache = (dir, o) => dependencies.lease(dir, o);
      makeRunner = (o) => {
        const make = (dependencyCache: CacheMounts | null) => workspace.createSandboxRunner({ ...o, home: userHome(env), env, cacheDir, dependencyCache });
        // The clone's runner is made before the install fills its keys: it looks them up until it finds them.
        if (o.dependencyCache !== undefined || !o.writableDirs[0]) return make(o.dependencyCache ?? null);
        return workspace.readingCacheRunner(dependencies, o.writableDirs[0], make);
      };
      // Commands reach a host only when a network rule allows it, through a proxy that asks the policy.
      startNetwork = (decide) =>
        workspace.startEgressProxy({ allow: [], decide, dir: os.tmpdir(), refusalNote: 'Commands may reach only the hosts a network rule allows or a person granted (request_network asks; slipway policy lists the rules).' });
      // Installs reach only the package registries, through a proxy on a socket in a private folder outside
      // every folder the sandbox sees. SLIPWAY_INSTALL_NETWORK=full is the documented escape hatch.
      if (env.SLIPWAY_INSTALL_NETWORK !== 'full') {
        startEgress = workspace.installEgressStarter({ home: userHome(env), env, socketRoot: os.tmpdir() });
      } else {
        decisions.push({ action: 'give dependency installs the full network', by: 'person', autonomous: false, reason: 'SLIPWAY_INSTALL_NETWORK=full is set' });
      }
    }

    const progress = createProgress({ json: flags.json === true, write: writer(out, flags.json ? 'stdout' : 'stderr'), terminal: flags.json ? null : out.terminal });
    let model: ModelClient;
    try {
      model = await createModelClient(config.model, {
        ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
        env,
        giveUpAfterMs: config.modelGiveUpSeconds * 1000,
        ...(flags.record ? { recordPath: path.resolve(flags.record) } : {}),
        onRetry: (info) => {
          void store
            .appendEvent(runId, { type: 'model_retry', ...info })
            .then((stored) => progress.event(stored))
            .catch(() => undefined);
        },
      });
    } catch (error) {
      const e = error as { message: string; hint?: string };
      return await failEarly(e.message, e.hint ?? '');
    }

    model = redactingModel(model, redactor);
    mkdirSync(cacheDir, { recursive: true });
    const early = await ahead;
    handedOver = true;
    const outcome = await runGoal(
      {
        goal,
        repo,
        ...(flags.base ? { base: flags.base } : {}),
        config,
        runId,
        ...(waitMs ? { waitMs } : {}),
        ...(resume
          ? { resume: { ...(resume.answer ? { answer: resume.answer } : {}), ...(resume.gate ? { gate: resume.gate } : {}), ...(resume.revise ? { revise: resume.revise } : {}) } }
          : {}),
      },
      {
        store,
        model,
        makeRunner,
        ...(startEgress ? { startEgress } : {}),
        ...(leaseDependencyCache ? { leaseDependencyCache } : {}),
        ...(startNetwork ? { startNetwork } : {}),
        workspacesDir: path.join(home, 'workspaces'),
        ...(early ? { prepareWorkspace: early.prepare } : {}),
        signal: interrupt.signal,
        onEvent: (e) => progress.event(e),
        initialDecisions: decisions,
        addSecrets: (values) => redactor.addSecrets(values),
        ...(out.later ? { later: (work: Promise<unknown>) => out.later?.(work) } : {}),
      },
    );
    progress.done();
    const line = {
      run: outcome.run,
      status: outcome.status === 'stopped' ? 'failed' : outcome.status,
      pr: outcome.pr,
      ...(outcome.gate ? { gate: outcome.gate } : {}),
      ...(outcome.question ? { question: outcome.question } : {}),
      ...(outcome.status === 'failed' ? { error: [outcome.error, outcome.hint].filter(Boolean).join(' ') } : {}),
      ...(outcome.status === 'stopped' ? { error: 'stopped by the user; the work is kept on the clone' } : {}),
      ...(outcome.branch ? { branch: outcome.branch } : {}),
    };
    switch (outcome.status) {
      case 'pr_open':
        return finish(line, EXIT.ok, `Pull request ${outcome.pr} is open on branch ${outcome.branch}; review it with: slipway pr show ${outcome.pr}`);
      case 'escalated':
        return finish(line, EXIT.escalated, `Slipway needs you (run ${outcome.run}):\n  ${outcome.question}`);
      case 'awaiting_approval':
        return finish(line, EXIT.awaitingApproval, `Run ${outcome.run} waits at gate ${outcome.gate}:\n  ${outcome.question}`);
      case 'stopped':
        return finish(line, EXIT.stopped, `Run ${outcome.run} stopped.`);
      default:
        return finish(line, EXIT.error, `✗ ${outcome.error}\n  ${outcome.hint ?? ''}\n  run: ${outcome.run} (details: slipway log ${outcome.run})`);
    }
  } finally {
    interrupt.dispose();
    await abandonAhead();
    await afterAnswer(out, store.close());
  }
}

function flagLayer(flags: RunFlags): SlipwayConfig {
  const num = (value: string | undefined, name: string, integer: boolean): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new UsageError(`${name} must be a positive ${integer ? 'whole ' : ''}number, got "${value}".`);
    }
    return n;
  };
  const budgets = {
    steps: num(flags.maxSteps, '--max-steps', true),
    tokens: num(flags.maxTokens, '--max-tokens', true),
    dollars: num(flags.maxDollars, '--max-dollars', false),
    wallMinutes: num(flags.maxMinutes, '--max-minutes', false),
  };
  const rounds = num(flags.verifyRounds, '--verify-rounds', true);
  const definedBudgets = Object.fromEntries(Object.entries(budgets).filter(([, v]) => v !== undefined));
  return {
    ...(flags.model ? { model: flags.model } : {}),
    ...(flags.baseUrl ? { baseUrl: flags.baseUrl } : {}),
    ...(flags.testCommand ? { test: { command: flags.testCommand } } : {}),
    ...(Object.keys(definedBudgets).length ? { budgets: definedBudgets } : {}),
    ...(rounds ? { verifyRounds: rounds } : {}),
    ...(flags.approvePlan ? { approvePlan: true } : {}),
  };
}

/** `slipway resume <run>` and `slipway answer <run> "..."`: the run goes on in the clone it kept. */
export async function resumeCommand(
  runId: string,
  answer: string | undefined,
  flags: Omit<RunFlags, 'repo'>,
  out: Output,
  env: NodeJS.ProcessEnv,
  more: Omit<ResumeRequest, 'runId' | 'answer'> = {},
): Promise<number> {
  if (answer !== undefined && !answer.trim()) throw new UsageError('The answer is empty. Say what the run should do, e.g. slipway answer r-xxxx "use the v2 API".');
  const { openSqliteStore } = await import('../store/index.js');
  const store = await openSqliteStore(path.join(slipwayHome(env), 'slipway.db'));
  const run = await store.getRun(runId).finally(() => store.close());
  if (!run) throw new NotFoundError(`No run "${runId}". Recent runs are listed by: slipway log --list`);
  return runCommand(
    run.goal,
    { ...flags, repo: run.repo, ...(run.base ? { base: run.base } : {}), ...(flags.model ? {} : { model: run.model }) },
    out,
    env,
    { runId, ...(answer !== undefined ? { answer } : {}), ...more },
  );
}
