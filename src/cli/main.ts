/** The `slipway` command line. Exit codes: 0 ok/PR open, 1 error, 2 usage, 3 escalated, 4 awaiting approval, 130 stopped. */
import { Command, CommanderError, Option } from 'commander';
import path from 'node:path';
import { ConfigError, UsageError, slipwayHome } from './home.js';
import { DEFAULT_IDLE_MINUTES, daemonServe, daemonStart, daemonStatus, daemonStop, type DaemonLocation } from './daemon.js';
import { processOutput, type Output } from './output.js';
import { EXIT, resumeCommand, runCommand, type RunFlags } from './run-command.js';
import { NotFoundError, listRuns, prList, prShow, showLog } from './records.js';
import { doctor } from './doctor.js';
import { policyCommand, type PolicyFlags } from './policy-command.js';
import { demo } from './demo.js';
import { describeHinted } from '../protocol/index.js';

declare const SLIPWAY_VERSION: string | undefined;
const VERSION = typeof SLIPWAY_VERSION === 'string' ? SLIPWAY_VERSION : '0.0.0-dev';

/** What the launcher (bin/slipway.js) tells the commands: where this build's daemon listens. */
export interface MainOptions {
  daemon?: DaemonLocation;
}

export function buildProgram(out: Output, env: NodeJS.ProcessEnv, setExit: (code: number) => void, options: MainOptions = {}): Command {
  const program = new Command('slipway')
    .description('An autonomous software engineer: goal in, reviewed pull request out.')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.stdout(s.trimEnd()), writeErr: (s) => out.stderr(s.trimEnd()) })
    .showHelpAfterError('(run slipway --help for usage)');

  program
    .command('run')
    .description('Plan, code, test, verify and open a pull request for a goal')
    .argument('<goal>', 'what you want done, in plain language')
    .option('--repo <path>', 'the git repository to work on', '.')
    .option('--base <branch>', 'branch to start from (default: the checked-out branch)')
    .option('--model <spec>', 'anthropic/<m>, openai/<m>, openai-compatible/<m>, script:<file>, replay:<file>')
    .option('--base-url <url>', 'API base URL (required for openai-compatible)')
    .option('--json', 'print JSON lines only: one per event, then a final status line')
    .option('--record <file>', 'record every model exchange as JSONL (replay it with --model replay:<file>)')
    .option('--max-steps <n>', 'budget: model calls')
    .option('--max-tokens <n>', 'budget: input plus output tokens')
    .option('--max-dollars <n>', 'budget: model spend in dollars')
    .option('--max-minutes <n>', 'budget: wall time')
    .option('--verify-rounds <n>', 'fix-and-verify rounds before escalating')
    .option('--test-command <cmd>', 'test command (default: detected)')
    .option('--approve-plan', 'a gate after planning: a person approves the plan before any code is written')
    .option('--wait [duration]', 'block at a gate until a person answers (default 1h; e.g. 90s, 15m, 2h); without it the run exits 4 there')
    .addOption(new Option('--no-sandbox', 'run commands without bubblewrap (dangerous, recorded as your decision)'))
    .action(async (goal: string, flags: RunFlags) => setExit(await runCommand(goal, flags, out, env)));

  for (const [name, description] of [
    ['resume', 'Go on with a stopped, failed or escalated run, in the clone it kept'],
    ['answer', 'Answer an escalated run\'s question; the run goes on with the answer'],
  ] as const) {
    const command = program.command(name).description(description).argument('<run>', 'run id (r-…)');
    if (name === 'answer') command.argument('<answer>', 'your answer, in plain language');
    command
      .option('--model <spec>', 'model for the rest of the run (default: the run\'s own)')
      .option('--base-url <url>', 'API base URL (required for openai-compatible)')
      .option('--json', 'JSON lines only, as for run')
      .option('--max-steps <n>', 'budget: model calls')
      .option('--max-dollars <n>', 'budget: model spend in dollars')
      .option('--verify-rounds <n>', 'fix-and-verify rounds before escalating')
      .option('--wait [duration]', 'block at a gate until a person answers (default 1h)')
      .addOption(new Option('--no-sandbox', 'run commands without bubblewrap (dangerous, recorded as your decision)'))
      .action(async (run: string, ...rest: unknown[]) => {
        const answer = name === 'answer' ? (rest[0] as string) : undefined;
        const flags = (name === 'answer' ? rest[1] : rest[0]) as Omit<RunFlags, 'repo'>;
        setExit(await resumeCommand(run, answer, flags, out, env));
      });
  }

  const pr = program.command('pr').description('Pull requests opened by Slipway');
  pr.command('list')
    .option('--json', 'JSON output')
    .action(async (flags: { json?: boolean }) => setExit(await prList(out, env, flags.json === true)));
  pr.command('show')
    .argument('<id>', 'pull request id (pr-…)')
    .option('--json', 'JSON output')
    .action(async (id: string, flags: { json?: boolean }) => setExit(await prShow(id, out, env, flags.json === true)));
  pr.command('merge')
    .description("Merge a pull request into its base: the policy's merge rule allows, asks (a gate, exit 4) or denies")
    .argument('<id>', 'pull request id (pr-…)')
    .option('--json', 'JSON output; the last line is {"gate", "status"}')
    .action(async (id: string, flags: { json?: boolean }) => {
      const { prMergeCommand } = await import('./gates.js');
      setExit(await prMergeCommand(id, flags, out, env));
    });

  pr.command('revise')
    .description('Send an open pull request back to the agent with your feedback; it works on the same branch and updates the PR')
    .argument('<id>', 'pull request id (pr-…)')
    .argument('<feedback>', 'what to change, in plain language')
    .option('--model <spec>', "model for the revision (default: the run's own)")
    .option('--base-url <url>', 'API base URL (required for openai-compatible)')
    .option('--json', 'JSON lines only, as for run')
    .option('--max-steps <n>', 'budget: model calls')
    .option('--max-dollars <n>', 'budget: model spend in dollars')
    .option('--wait [duration]', 'block at a gate until a person answers (default 1h)')
    .action(async (id: string, feedback: string, flags: Omit<RunFlags, 'repo'>) => {
      const { reviseCommand } = await import('./gates.js');
      setExit(await reviseCommand(id, feedback, flags, out, env));
    });

  program
    .command('gates')
    .description('Approval gates, pending first')
    .option('--json', 'JSON output')
    .action(async (flags: { json?: boolean }) => {
      const { gatesCommand } = await import('./gates.js');
      setExit(await gatesCommand(out, env, flags.json === true));
    });
  program
    .command('approve')
    .description('Approve a pending gate: a merge is performed on the host after re-running the tests; a run that rests at the gate goes on')
    .argument('<gate>', 'gate id (g-…)')
    .option('--note <text>', 'a note recorded with your answer')
    .option('--json', 'JSON output')
    .option('--model <spec>', "for a run that goes on: its model (default: the run's own)")
    .option('--base-url <url>', 'API base URL (required for openai-compatible)')
    .action(async (id: string, flags: { note?: string; json?: boolean; model?: string; baseUrl?: string }) => {
      const { approveCommand } = await import('./gates.js');
      setExit(await approveCommand(id, flags, out, env));
    });
  program
    .command('reject')
    .description('Reject a pending gate with a reason: the reason goes back to the agent, which works on (a merge gate: revises the pull request)')
    .argument('<gate>', 'gate id (g-…)')
    .requiredOption('--reason <text>', 'why: recorded on the gate, the pull request and the ledger, and sent to the agent')
    .option('--no-revise', 'a merge gate: only record the rejection; the pull request stays open as it is')
    .option('--json', 'JSON output')
    .option('--model <spec>', "for a run that goes on: its model (default: the run's own)")
    .option('--base-url <url>', 'API base URL (required for openai-compatible)')
    .action(async (id: string, flags: { reason: string; revise?: boolean; json?: boolean; model?: string; baseUrl?: string }) => {
      const { rejectCommand } = await import('./gates.js');
      setExit(await rejectCommand(id, flags, out, env));
    });

  program
    .command('log')
    .description('The event log of a run')
    .argument('[run]', 'run id (r-…)')
    .option('--list', 'list recent runs')
    .option('--json', 'JSON lines')
    .action(async (run: string | undefined, flags: { json?: boolean; list?: boolean }) => {
      if (flags.list || !run) return setExit(await listRuns(out, env, flags.json === true));
      setExit(await showLog(run, out, env, flags.json === true));
    });

  program
    .command('demo')
    .description('Run the whole loop on the bundled example repository with the scripted model (no API key)')
    .option('--json', 'JSON lines')
    .action(async (flags: { json?: boolean }) => setExit(await demo(out, env, flags)));

  program
    .command('policy')
    .description('Show the effective policy rules (allow / ask / deny), where each came from, and rejected repository rules')
    .option('--repo <path>', 'the git repository whose .slipway/config.json applies', '.')
    .option('--json', 'JSON output')
    .action(async (flags: PolicyFlags) => setExit(await policyCommand(flags, out, env)));

  program
    .command('eval')
    .description('Evaluate Slipway on SWE-bench-format instances (JSONL): resolved, unresolved, errors, a report')
    .argument('<instances>', 'JSONL file, one instance a line (instance_id, repo, base_commit, problem_statement, test_patch, FAIL_TO_PASS, PASS_TO_PASS)')
    .option('--model <spec>', 'as for run; script:<dir> gives each instance <dir>/<instance_id>.json')
    .option('--base-url <url>', 'API base URL (required for openai-compatible)')
    .option('--concurrency <n>', 'instances run at once', '1')
    .option('--out <dir>', 'results, patches, transcripts and report.json (rerun with the same folder to resume)')
    .option('--instances <ids>', 'only these instance ids, comma-separated')
    .option('--max-steps <n>', 'budget per instance: model calls')
    .option('--max-dollars <n>', 'budget per instance: model spend in dollars')
    .option('--verify-rounds <n>', 'fix-and-verify rounds before a run escalates')
    .action(async (file: string, flags: import('./eval-command.js').EvalFlags) => {
      const { evalCommand } = await import('./eval-command.js');
      setExit(await evalCommand(file, flags, out, env));
    });

  program
    .command('doctor')
    .description('Check prerequisites and say what to install')
    .action(async () => setExit(await doctor(out, env)));

  const where = (): DaemonLocation =>
    options.daemon ?? { dir: path.join(slipwayHome(env), 'daemon'), socket: null, reason: 'Slipway was not started through bin/slipway.js', bin: '' };
  const idleMinutes = (value: string | undefined): number => {
    const n = Number(value ?? DEFAULT_IDLE_MINUTES);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--idle wants a number of minutes above 0, not "${value}"`);
    return n;
  };
  const daemon = program
    .command('daemon')
    .description('A long-lived Slipway process that runs your commands, warm, without loading Slipway each time (opt-in)');
  daemon
    .command('start')
    .description('Start it in the background; later commands run in it (SLIPWAY_DAEMON=off bypasses it)')
    .option('--idle <minutes>', 'stop after this many idle minutes', String(DEFAULT_IDLE_MINUTES))
    .action(async (flags: { idle?: string }) => setExit(await daemonStart(where(), idleMinutes(flags.idle), out, env)));
  daemon
    .command('stop')
    .description('Stop it (and daemons of earlier builds); a command it is running finishes first')
    .action(async () => setExit(await daemonStop(where(), out)));
  daemon
    .command('status')
    .description('Whether it runs, and for how long')
    .option('--json', 'JSON output')
    .action(async (flags: { json?: boolean }) => setExit(await daemonStatus(where(), out, flags.json === true)));
  daemon
    .command('serve', { hidden: true })
    .option('--idle <minutes>', 'stop after this many idle minutes', String(DEFAULT_IDLE_MINUTES))
    .action(async (flags: { idle?: string }) =>
      setExit(await daemonServe(where(), idleMinutes(flags.idle), (argv, o, e) => main(argv, o, e, options), VERSION)),
    );

  program
    .command('ledger')
    .description("A run's decisions as a hash-chained ledger; --verify checks it against the PR body and the git note")
    .argument('<id>', 'run id (r-…) or pull request id (pr-…)')
    .option('--verify', 'recompute the chain and compare its head with the copies kept outside the database')
    .option('--json', 'JSON output')
    .action(async (id: string, flags: { verify?: boolean; json?: boolean }) => {
      const { ledgerCommand } = await import('./ledger.js');
      setExit(await ledgerCommand(id, flags, out, env));
    });
  return program;
}

/** Parses argv and runs; returns the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: string[], out: Output = processOutput, env: NodeJS.ProcessEnv = process.env, options: MainOptions = {}): Promise<number> {
  let code = 0;
  const program = buildProgram(out, env, (c) => (code = c), options);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      out.stderr(`error: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof NotFoundError) {
      out.stderr(`error: ${error.message}`);
      return EXIT.error;
    }
    if (error instanceof ConfigError) {
      out.stderr(`error: ${error.message}\n  ${error.hint}`);
      return EXIT.error;
    }
    const { message, hint } = describeHinted(error);
    out.stderr(`error: ${message}${hint ? `\n  ${hint}` : ''}`);
    return EXIT.error;
  }
}
