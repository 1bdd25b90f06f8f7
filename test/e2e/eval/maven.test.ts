/**
 * A Java instance (Maven, JUnit 5) whose plugins and JUnit come from Maven Central through the registry-only
 * egress proxy: the evaluation's dependency cache gives the installs a generated settings.xml naming the proxy
 * and the tests one that keeps Maven offline. Slow (Maven downloads its plugins on the first install).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InstanceResult } from '../../../src/eval/result.js';
import { removeDir } from '../../support/repos.js';
import { evalOne, fileDiff, MAVEN_FILES, MAVEN_TEST_FIXED, mavenScript, type SingleEval } from './fixtures.js';

let run: SingleEval & { repo: string };

beforeAll(async () => {
  run = await evalOne(
    'money',
    MAVEN_FILES,
    {
      instance_id: 'money-small-amounts',
      problem_statement: 'Money.percentOf(50, 10) returns 0; it should return 5 (amounts under 100 lose their cents).',
      test_patch: fileDiff('src/test/java/example/MoneyTest.java', MAVEN_FILES['src/test/java/example/MoneyTest.java']!, MAVEN_TEST_FIXED),
      FAIL_TO_PASS: ['example.MoneyTest.percentOfSmallAmounts'],
      PASS_TO_PASS: ['example.MoneyTest.percentOfRoundAmounts'],
      // go-offline misses surefire's JUnit provider, which is resolved only when tests run: run them once.
      setup_cmd: 'mvn -B -q dependency:go-offline test -Dmaven.test.failure.ignore=true',
      test_cmd: 'mvn -B test -Dsurefire.reportFormat=plain',
    },
    mavenScript,
    280_000,
  );
}, 300_000);

afterAll(() => {
  if (run) removeDir(run.work);
  if (run) removeDir(run.repo);
});

it('resolves a Maven instance, its installs reaching Maven Central through the registry proxy', () => {
  expect(run.result.code, run.result.stderr).toBe(0);
  const dir = path.join(run.out, 'money-small-amounts');
  const r = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8')) as InstanceResult;
  expect(r, JSON.stringify(r)).toMatchObject({
    status: 'resolved',
    run: { status: 'pr_open' },
    tests: {
      command: 'mvn -B test -Dsurefire.reportFormat=plain',
      fail_to_pass: { passed: ['example.MoneyTest.percentOfSmallAmounts'], failed: [] },
      pass_to_pass: { passed: ['example.MoneyTest.percentOfRoundAmounts'], failed: [] },
    },
  });
  expect(r.model_patch).toContain('+    return amount * percent / 100;');
  expect(r.model_patch).not.toContain('target/');

  // The agent's install (setup_cmd) downloaded through the proxy into the evaluation's dependency cache...
  const events = readFileSync(path.join(dir, 'events.jsonl'), 'utf8');
  expect(events).toMatch(/dependency install reached [^"]*repo\.maven\.apache\.org:443/);
  expect(events).toMatch(/use the shared dependency cache for maven [0-9a-f]{12} \(pom\.xml, new\)/);
  expect(events).not.toContain('refuse install egress');
  // ...and the harness's setup found everything there: same pom.xml, same key, no registry reached.
  const output = readFileSync(path.join(dir, 'test-output.txt'), 'utf8');
  expect(output).toMatch(/\(dependency cache: maven [0-9a-f]{12} reused\)/);
  expect(output).toContain('(setup reached no registry)');
  expect(output).toContain('BUILD SUCCESS');
  // The cache lives under --out, not in SLIPWAY_HOME.
  expect(readdirSync(path.join(run.out, 'cache', 'deps', 'maven')).some((f) => f.endsWith('.install-proxied.settings.xml'))).toBe(true);
  expect(run.result.stdout).toContain('resolved 1/1 (100.0%)');
});
