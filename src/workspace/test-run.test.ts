/** Real tiny projects, detected, run through the real sandbox, and parsed per test. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCaseResult } from '../protocol/tests.js';
import { createSandboxRunner, type SandboxRunner } from './sandbox.js';
import { detectTestPlan } from './test-detect.js';
import { onHost, removeDir, tempDir, writeFiles } from './test-helpers.js';
import { runTests } from './test-run.js';

function statusOf(tests: TestCaseResult[]): Record<string, string> {
  return Object.fromEntries(tests.map((t) => [t.id, t.status]));
}

describe('runTests through the sandbox', () => {
  let root = '';
  let cache = '';
  const runners = new Map<string, SandboxRunner>();
  const runnerFor = (dir: string): SandboxRunner => {
    let r = runners.get(dir);
    if (!r) {
      // The real home and environment: the toolchains installed there must work inside.
      r = createSandboxRunner({ writableDirs: [dir], home: homedir(), env: process.env, cacheDir: cache });
      runners.set(dir, r);
    }
    return r;
  };
  const project = (name: string, files: Record<string, string>): string => {
    const dir = join(root, name);
    writeFiles(dir, files);
    return dir;
  };

  beforeAll(() => {
    root = tempDir('slipway-projects-');
    cache = tempDir('slipway-cache-');
  });
  afterAll(() => {
    removeDir(root);
    removeDir(cache);
  });

  it('node:test: passing, failing, skipped and nested tests', async () => {
    const dir = project('node', {
      'package.json': JSON.stringify({ name: 'demo', version: '1.0.0', scripts: { test: 'node --test' } }),
      'math.test.js': [
        "const test = require('node:test');",
        "const assert = require('node:assert');",
        "test('adds', () => assert.strictEqual(1 + 1, 2));",
        "test('fails', () => assert.strictEqual(1, 2));",
        "test('outer', async (t) => {",
        "  await t.test('inner ok', () => {});",
        "  await t.test('inner # hash', () => {});",
        '});',
        "test('later', { skip: 'not yet' }, () => {});",
      ].join('\n'),
    });
    const plan = await detectTestPlan(dir);
    expect(plan).toMatchObject({ command: 'npm test', framework: 'node-test', install: null });
    const result = await runTests(runnerFor(dir), dir, plan!, { timeoutMs: 60_000 });
    expect(result.exitCode).not.toBe(0);
    expect(result.counts).toEqual({ passed: 4, failed: 1, skipped: 1 });
    expect(statusOf(result.tests)).toEqual({
      adds: 'passed',
      fails: 'failed',
      'outer > inner ok': 'passed',
      'outer > inner # hash': 'passed',
      outer: 'passed',
      later: 'skipped',
    });
  });

  it.runIf(onHost('python3', '-m', 'pytest', '--version'))('pytest: node ids, parametrized and skipped tests', async () => {
    const dir = project('py', {
      'tests/test_calc.py': [
        'import pytest',
        'def test_ok(): assert 1 + 1 == 2',
        'def test_bad(): assert 1 == 2',
        '@pytest.mark.parametrize("n", [1, 2])',
        'def test_param(n): assert n',
        '@pytest.mark.skip(reason="later")',
        'def test_skip(): pass',
      ].join('\n'),
    });
    const plan = await detectTestPlan(dir);
    expect(plan).toMatchObject({ command: 'python3 -m pytest -rA -p no:cacheprovider', framework: 'pytest', source: 'pytest (found tests/)' });
    const result = await runTests(runnerFor(dir), dir, plan!, { timeoutMs: 60_000 });
    expect(result.counts).toEqual({ passed: 3, failed: 1, skipped: 1 });
    expect(statusOf(result.tests)).toMatchObject({
      'tests/test_calc.py::test_ok': 'passed',
      'tests/test_calc.py::test_bad': 'failed',
      'tests/test_calc.py::test_param[1]': 'passed',
      'tests/test_calc.py::test_param[2]': 'passed',
    });
    expect(result.tests.find((t) => t.status === 'skipped')?.file).toBe('tests/test_calc.py');
  });

  it.runIf(onHost('python3', '-m', 'pytest', '--version'))('pytest with requirements.txt: installs into a virtualenv in the clone', async () => {
    // Nothing to download (the sandbox has no network here): this proves the venv route, not pip's.
    const dir = project('pyreq', { 'requirements.txt': '# no third-party packages\n', 'tests/test_env.py': 'import sys\ndef test_in_venv(): assert sys.prefix.endswith(".venv")\n' });
    const plan = await detectTestPlan(dir);
    expect(plan?.install).toMatch(/^python3 -m venv/);
    const install = await runnerFor(dir).run(plan!.install!, { cwd: dir, timeoutMs: 90_000 });
    expect(install.exitCode, install.output).toBe(0);
    const result = await runTests(runnerFor(dir), dir, plan!, { timeoutMs: 60_000 });
    expect(result.counts).toEqual({ passed: 1, failed: 0, skipped: 0 });
  });

  it.runIf(onHost('go', 'version'))('go: tests and subtests', async () => {
    const dir = project('gomod', {
      'go.mod': 'module example.com/demo\n\ngo 1.21\n',
      'calc.go': 'package demo\n\nfunc Add(a, b int) int { return a + b }\n',
      'calc_test.go': [
        'package demo',
        'import "testing"',
        'func TestAdd(t *testing.T) {',
        '\tt.Run("small", func(t *testing.T) { if Add(1, 1) != 2 { t.Fatal("bad") } })',
        '\tt.Run("wrong", func(t *testing.T) { if Add(1, 1) != 3 { t.Fatal("expected 3") } })',
        '}',
        'func TestSkip(t *testing.T) { t.Skip("later") }',
      ].join('\n'),
    });
    const plan = await detectTestPlan(dir);
    expect(plan).toMatchObject({ command: 'go test -v ./...', framework: 'go' });
    const result = await runTests(runnerFor(dir), dir, plan!, { timeoutMs: 90_000 });
    expect(statusOf(result.tests)).toEqual({
      TestAdd: 'failed',
      'TestAdd/small': 'passed',
      'TestAdd/wrong': 'failed',
      TestSkip: 'skipped',
    });
    expect(result.counts).toEqual({ passed: 1, failed: 2, skipped: 1 });
    // Longer than the run's own 90 s: a cold Go build cache in the sandbox compiles the standard library, slowly on
    // a loaded machine.
  }, 180_000);

  it.runIf(onHost('cargo', '--version'))('cargo: a dependency-free crate, offline', async () => {
    const dir = project('crate', {
      'Cargo.toml': '[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
      'src/lib.rs': [
        'pub fn add(a: i32, b: i32) -> i32 { a + b }',
        '#[cfg(test)]',
        'mod tests {',
        '    use super::*;',
        '    #[test] fn adds() { assert_eq!(add(1, 1), 2); }',
        '    #[test] fn wrong() { assert_eq!(add(1, 1), 3); }',
        '    #[test] #[ignore] fn slow() {}',
        '}',
      ].join('\n'),
    });
    const plan = await detectTestPlan(dir);
    expect(plan).toMatchObject({ command: 'cargo test', framework: 'cargo' });
    const result = await runTests(runnerFor(dir), dir, plan!, { timeoutMs: 90_000 });
    expect(statusOf(result.tests)).toEqual({ 'tests::adds': 'passed', 'tests::wrong': 'failed', 'tests::slow': 'skipped' });
    expect(result.tests[0]?.file).toBe('src/lib.rs');
    expect(result.counts).toEqual({ passed: 1, failed: 1, skipped: 1 });
  });

  it('says why when nothing could be parsed, and when the run timed out', async () => {
    const dir = project('odd', { 'Makefile': 'test:\n\t@echo all good\n' });
    const plan = await detectTestPlan(dir);
    expect(plan).toMatchObject({ command: 'make test', framework: 'make' });
    const result = await runTests(runnerFor(dir), dir, plan!, { timeoutMs: 30_000 });
    expect(result.exitCode).toBe(0);
    expect(result.counts).toBeNull();
    expect(result.reason).toMatch(/no test summary/);
    const slow = await runTests(runnerFor(dir), dir, { ...plan!, command: 'sleep 30' }, { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);
    expect(slow.counts).toBeNull();
    expect(slow.reason).toMatch(/^timed out after 300 ms/);
  });
});
