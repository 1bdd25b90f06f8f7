/**
 * Network from the sandbox is off unless a rule allows a host or a person grants one. With `{"kind": "network",
 * "pattern": "registry.npmjs.org", "action": "allow"}` in the user's config, the agent's commands reach that host
 * (through the host-side proxy that asks the policy about every connection) and nothing else; the agent's
 * request_network tool asks for a host, which the default `network * ask` makes a gate. Each connection allowed
 * or refused is a ledger decision. Uses the real npm registry, as the dependency install tests do.
 */
import { describe, expect, it } from 'vitest';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import type { Gate } from '../../../src/protocol/index.js';
import { runCli } from '../../support/cli.js';
import { demoTurns, lastLine, MODEL, useScenario } from '../core/scenario.js';

const s = useScenario('demo-cart');

const PROBE =
  "curl -sS -m 20 -o /dev/null -w 'npm=%{http_code}\\n' https://registry.npmjs.org/ 2>&1; " +
  "curl -sS -m 20 -o /dev/null -w 'pypi=%{http_code} connect=%{http_connect}\\n' https://pypi.org/simple/ 2>&1; echo probed";

function turns(): ScriptTurn[] {
  const [readCart, plan, , fixCart, addTest, runTests, finish, verdict] = demoTurns() as ScriptTurn[];
  return [readCart!, plan!, { toolCalls: [{ name: 'shell', input: { command: PROBE } }] }, fixCart!, addTest!, runTests!, finish!, verdict!];
}

/** What the shell tool returned to the model (the request after the one that called it). */
function probeResult(marker = 'npm='): string {
  const i = s.h.server.requests.findIndex((r) => r.rawBody.includes('probed') && r.rawBody.includes(marker));
  expect(i, 'no request carried the probe result').toBeGreaterThan(-1);
  return s.h.server.requests[i]!.rawBody;
}

interface Decision {
  action: string;
  by: string;
  reason: string;
}

describe('network rules', () => {
  it('a host a rule allows is reachable from sandboxed commands, every other host is refused, both on the record', async () => {
    s.h.userConfig({ policy: [{ kind: 'network', pattern: 'registry.npmjs.org', action: 'allow' }] });
    s.h.server.turns(turns());
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    expect(lastLine(result), result.stderr + result.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    const body = probeResult();
    expect(body).toContain('npm=200');
    expect(body).toMatch(/pypi=000 connect=403/);
    const decisions = result.json.filter((e) => e.type === 'decision').map((e) => e.decision as Decision);
    expect(decisions).toContainEqual(expect.objectContaining({ action: 'let sandboxed commands reach the hosts the policy allows: registry.npmjs.org', by: 'policy' }));
    expect(decisions).toContainEqual(expect.objectContaining({ action: 'allow a command to reach registry.npmjs.org:443', by: 'policy' }));
    const refused = decisions.find((d) => d.action === 'refuse network from the sandbox to pypi.org:443');
    expect(refused?.reason).toContain('network `*` ask, from default; the agent may ask a person for it with request_network');
  }, 120_000);

  it('even a name a rule allows cannot reach the host\'s own services: loopback is refused after the lookup', async () => {
    // The fake model server listens on the host's loopback: what a prompt-injected agent would go for.
    const port = new URL(s.h.server.openaiBaseUrl).port;
    s.h.userConfig({ policy: [{ kind: 'network', pattern: 'localhost', action: 'allow' }, { kind: 'network', pattern: 'localhost:*', action: 'allow' }] });
    const [readCart, plan, , fixCart, addTest, runTests, finish, verdict] = demoTurns() as ScriptTurn[];
    const probe = `curl -sS -m 10 -o /dev/null -w 'loop=%{http_code}\\n' http://localhost:${port}/v1/models 2>&1; echo probed`;
    s.h.server.turns([readCart!, plan!, { toolCalls: [{ name: 'shell', input: { command: probe } }] }, fixCart!, addTest!, runTests!, finish!, verdict!]);
    const before = s.h.server.requests.length;
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    expect(lastLine(result), result.stderr + result.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    expect(probeResult('loop=')).toContain('loop=403');
    // The fake server saw model requests only: nothing came through the proxy.
    expect(s.h.server.requests.slice(before).every((r) => r.path.includes('/responses'))).toBe(true);
    const decisions = result.json.filter((e) => e.type === 'decision').map((e) => e.decision as Decision);
    const refused = decisions.find((d) => d.action === `refuse network from the sandbox to localhost:${port}`);
    expect(refused?.reason).toMatch(/loopback|private|127\.0\.0\.1/);
  }, 120_000);

  it('without a rule (the default), the same command reaches nothing: no proxy, no network namespace route', async () => {
    s.h.server.turns(turns());
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    expect(lastLine(result), result.stderr + result.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    const body = probeResult();
    expect(body).toContain('npm=000');
    expect(body).toContain('pypi=000');
    expect(result.json.some((e) => e.type === 'decision' && (e.decision as Decision).action.startsWith('let sandboxed commands reach'))).toBe(false);
  }, 120_000);

  it('the agent asks for a host (request_network); the default ask rule makes it a gate, and approving grants that host alone', async () => {
    const [readCart, plan, , fixCart, addTest, runTests, finish, verdict] = demoTurns() as ScriptTurn[];
    const ask: ScriptTurn = { toolCalls: [{ name: 'request_network', input: { host: 'registry.npmjs.org', reason: 'check the latest version of a dependency' } }] };
    s.h.server.turns([readCart!, plan!, ask]);
    const first = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    expect(first.code, first.stderr + first.stdout.slice(-1500)).toBe(4);
    const env = s.h.env('openai');
    const gates = JSON.parse((await runCli(['gates', '--json'], env)).stdout) as Gate[];
    expect(gates).toHaveLength(1);
    expect(gates[0]).toMatchObject({ id: lastLine(first).gate, action: 'network', subject: 'registry.npmjs.org:443', status: 'pending', risk: { level: 'high' } });
    expect(gates[0]!.why).toContain('let its commands reach registry.npmjs.org:443 (check the latest version of a dependency)');
    expect(gates[0]!.why).toContain('network `*` ask, from default');

    // Approved: the very call goes on and is granted; the next command reaches that host and no other.
    s.h.server.turns([{ toolCalls: [{ name: 'shell', input: { command: PROBE } }] }, fixCart!, addTest!, runTests!, finish!, verdict!]);
    const approved = await runCli(['approve', gates[0]!.id, '--json', '--model', MODEL.openai], env);
    expect(lastLine(approved), approved.stderr + approved.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    expect(s.h.server.requests.some((r) => r.rawBody.includes('Granted: your shell commands can now reach registry.npmjs.org:443'))).toBe(true);
    const body = probeResult();
    expect(body).toContain('npm=200');
    expect(body).toMatch(/pypi=000 connect=403/);
    const decisions = approved.json.filter((e) => e.type === 'decision').map((e) => e.decision as Decision);
    expect(decisions).toContainEqual(expect.objectContaining({ action: 'allow a command to reach registry.npmjs.org:443', by: 'policy', reason: 'granted for this run' }));
    expect(decisions.find((d) => d.action === 'refuse network from the sandbox to pypi.org:443')?.reason).toContain('request_network');
  }, 180_000);

  it('a host a rule denies is refused at once, without a gate, and the run goes on', async () => {
    s.h.userConfig({ policy: [{ kind: 'network', pattern: '*.example.com', action: 'deny' }] });
    const [readCart, plan, , fixCart, addTest, runTests, finish, verdict] = demoTurns() as ScriptTurn[];
    const ask: ScriptTurn = { toolCalls: [{ name: 'request_network', input: { host: 'data.example.com', reason: 'download fixtures' } }] };
    s.h.server.turns([readCart!, plan!, ask, fixCart!, addTest!, runTests!, finish!, verdict!]);
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    expect(lastLine(result), result.stderr + result.stdout.slice(-1500)).toMatchObject({ status: 'pr_open' });
    expect(s.h.server.requests.some((r) => r.rawBody.includes('Network access to data.example.com:443 is denied (policy: network `*.example.com` deny, from user)'))).toBe(true);
    expect(JSON.parse((await runCli(['gates', '--json'], s.h.env('openai'))).stdout)).toEqual([]);
  }, 120_000);
});

