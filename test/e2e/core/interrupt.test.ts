/** Ctrl-C stops cleanly: sandboxed processes killed, state saved, the run marked as stopped. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { ROOT } from '../../support/repos.js';
import { demoTurns, MODEL, useScenario } from './scenario.js';

const s = useScenario('demo-cart');

function processesMatching(marker: string): string {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `slipway run` in a child process of its own, as a person's terminal would start it. */
function startRun(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'slipway.js'), 'run', 'Fix the discount', '--repo', s.repo, '--json', '--model', MODEL.openai], {
    env: s.h.env('openai'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => stdout, exited };
}

it('SIGINT during a sandboxed command kills it, saves the state and marks the run stopped', async () => {
  const marker = `slipway-sleeper-${process.pid}-${Date.now()}`;
  const [readCart, plan] = demoTurns();
  s.h.server.turns([readCart!, plan!, { toolCalls: [{ name: 'shell', input: { command: `sleep 300; echo ${marker}` } }] }]);
  const { child, output, exited } = startRun();

  await until(() => processesMatching(marker) !== '');
  child.kill('SIGINT');
  const code = await exited;
  expect(code).toBe(130);
  await until(() => processesMatching(marker) === '', 5000);

  const lines = output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = lines.at(-1)!;
  expect(last).toMatchObject({ status: 'failed', pr: null });
  expect(String(last.error)).toMatch(/stopped/);
  const runs = JSON.parse((await runCli(['log', '--list', '--json'], s.h.env('openai'))).stdout) as Array<{ id: string; status: string }>;
  expect(runs.find((r) => r.id === last.run)?.status).toBe('stopped');
  const log = await runCli(['log', String(last.run), '--json'], s.h.env('openai'));
  expect(log.stdout).toMatch(/"type":"stopped"/);
  expect(log.stdout).toMatch(/"type":"plan"/); // state before the stop was saved
});

it('a run killed outright (SIGKILL) can be resumed, while a live one cannot be taken twice', async () => {
  const marker = `slipway-crash-${process.pid}-${Date.now()}`;
  const [readCart, plan, readTest, fixCart, addTest, runTests, finish, verdict] = demoTurns();
  s.h.server.turns([readCart!, plan!, fixCart!, { toolCalls: [{ name: 'shell', input: { command: `sleep 300; echo ${marker}` } }] }]);
  const { child, output, exited } = startRun();
  await until(() => processesMatching(marker) !== '');
  const run = String((JSON.parse(output().split('\n')[0]!) as { run: string }).run);

  // While it runs, nobody else may take it.
  const twice = await runCli(['resume', run, '--json', '--model', MODEL.openai], s.h.env('openai'));
  expect(twice.code).toBe(1);
  expect(String(twice.json.at(-1)?.error)).toContain(`Run ${run} is still running (process ${child.pid})`);

  child.kill('SIGKILL');
  await exited;
  await until(() => processesMatching(marker) === '', 5000); // the sandbox dies with its parent
  const runs = JSON.parse((await runCli(['log', '--list', '--json'], s.h.env('openai'))).stdout) as Array<{ id: string; status: string }>;
  expect(runs.find((r) => r.id === run)?.status).toBe('coding'); // nobody could say otherwise

  const asked = s.h.server.requests.length;
  s.h.server.turns([readTest!, addTest!, runTests!, finish!, verdict!]);
  const resumed = await runCli(['resume', run, '--json', '--model', MODEL.openai], s.h.env('openai'));
  expect(resumed.json.at(-1), resumed.stderr + resumed.stdout.slice(-1500)).toMatchObject({ run, status: 'pr_open' });
  expect(s.h.server.requests[asked]!.rawBody).toContain('cut off while coding');
  expect(s.h.server.requests[asked]!.rawBody).toContain('src/cart.js'); // the fix made before the crash was kept
  // The coder goes on in its conversation, kept after every exchange: the fix's call and the words before it are
  // there; the call cut off (the sleep) is not.
  expect(s.h.server.requests[asked]!.rawBody).toContain('Fixing the calculation.');
  expect(s.h.server.requests[asked]!.rawBody).toContain('subtotal * (1 - discountPercent / 100)');
  expect(s.h.server.requests[asked]!.rawBody).toContain('look at the work tree');
  expect(s.h.server.requests[asked]!.rawBody).not.toContain(marker);
});

it('a run killed outright while planning goes on planning in its conversation', async () => {
  const [readCart, plan, readTest, fixCart, addTest, runTests, finish, verdict] = demoTurns();
  // The planner reads the cart, then its second call hangs (the model streams only keep-alives) until the kill.
  s.h.server.turns([readCart!]);
  s.h.server.slowStream({ turn: plan!, keepAlives: 600, everyMs: 100 });
  const { child, output, exited } = startRun();
  await until(() => s.h.server.requests.length >= 2);
  const run = String((JSON.parse(output().split('\n')[0]!) as { run: string }).run);
  child.kill('SIGKILL');
  await exited;

  const asked = s.h.server.requests.length;
  s.h.server.turns([plan!, readTest!, fixCart!, addTest!, runTests!, finish!, verdict!]);
  const resumed = await runCli(['resume', run, '--json', '--model', MODEL.openai], s.h.env('openai'));
  expect(resumed.json.at(-1), resumed.stderr + resumed.stdout.slice(-1500)).toMatchObject({ run, status: 'pr_open' });
  // The planner went on with what it had read: the cart's code is in its first request after the crash.
  expect(s.h.server.requests[asked]!.rawBody).toContain('return subtotal - discountPercent;');
});
