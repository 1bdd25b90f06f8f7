/**
 * The whole loop on real Go, Rust and Java (Maven, JUnit 5) repositories: the scripted model fixes a real bug
 * and adds a test; the PR shows the runner's counts before and after, and the new test, by the name its
 * runner gives it, failing on the base commit with only the test change applied and passing with the fix.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { runCli } from '../../support/cli.js';
import { onHost } from '../../../src/workspace/test-helpers.js';
import { committedRepo, git, removeDir } from '../../support/repos.js';
import { MAVEN_FILES } from '../eval/fixtures.js';
import { harness, lastLine, MODEL, type Harness, type VendorSpec } from './scenario.js';

/** In CI a missing toolchain fails the test instead of skipping it. */
const has = (tool: string, ...args: string[]): boolean => Boolean(process.env.CI) || onHost(tool, ...args);

/** Written by `uv lock` (uv 0.13.8) for the uv project below. */
const UV_LOCK = "version = 1\nrevision = 5\nrequires-python = \">=3.8\"\n\n[[package]]\nname = \"inflection\"\nversion = \"0.5.1\"\nsource = { registry = \"https://pypi.org/simple\" }\nsdist = { url = \"https://files.pythonhosted.org/packages/e1/7e/691d061b7329bc8d54edbf0ec22fbfb2afe61facb681f9aaa9bff7a27d04/inflection-0.5.1.tar.gz\", hash = \"sha256:1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417\", size = 15091, upload-time = \"2020-08-22T08:16:29.139Z\" }\nwheels = [\n    { url = \"https://files.pythonhosted.org/packages/59/91/aa6bde563e0085a02a435aa99b49ef75b0a4b062635e606dab23ce18d720/inflection-0.5.1-py2.py3-none-any.whl\", hash = \"sha256:f38b2b640938a4f35ade69ac3d053042959b62a0f1076a5bbaa1b9526605a8a2\", size = 9454, upload-time = \"2020-08-22T08:16:27.816Z\" },\n]\n\n[[package]]\nname = \"mathx\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\n[package.dev-dependencies]\ndev = [\n    { name = \"inflection\" },\n]\n\n[package.metadata]\n\n[package.metadata.requires-dev]\ndev = [{ name = \"inflection\", specifier = \"==0.5.1\" }]\n";

let h: Harness;
let repo = '';

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.server.close();
  removeDir(h.home);
  if (repo) removeDir(repo);
  repo = '';
});

interface Edit {
  path: string;
  old_text: string;
  new_text: string;
}

/** Planner, coder and verifier turns: read the code, plan, fix, add the test, run the tests, finish, pass. */
function fixTurns(s: { read: string; summary: string; fix: Edit; test: Edit; testName: string }): ScriptTurn[] {
  const acceptance = ['The bug is fixed', 'A new test fails before the fix and passes after it'];
  return [
    { toolCalls: [{ name: 'read_file', input: { path: s.read } }] },
    { toolCalls: [{ name: 'submit_plan', input: { summary: s.summary, steps: ['Fix the bug', 'Add a test that shows it'], acceptance } }] },
    { toolCalls: [{ name: 'edit_file', input: { ...s.fix } }] },
    { toolCalls: [{ name: 'edit_file', input: { ...s.test } }] },
    { toolCalls: [{ name: 'run_tests', input: {} }] },
    { toolCalls: [{ name: 'finish', input: { summary: s.summary } }] },
    {
      toolCalls: [
        {
          name: 'submit_verdict',
          input: {
            verdict: 'pass',
            findings: [
              { check: acceptance[0], verdict: 'pass', evidence: `the change to ${s.fix.path}` },
              { check: acceptance[1], verdict: 'pass', evidence: s.testName },
            ],
          },
        },
      ],
    },
  ];
}

/** Runs the goal through the CLI; returns the PR as `slipway pr show --json` gives it. */
async function runToPr(vendor: VendorSpec, goal: string, timeoutMs = 120_000): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const result = await runCli(['run', goal, '--repo', repo, '--json', '--model', MODEL[vendor]], h.env(vendor), { timeoutMs });
  const last = lastLine(result);
  expect(last, result.stdout.slice(-3000) + result.stderr.slice(-2000)).toMatchObject({ status: 'pr_open' });
  expect(result.code).toBe(0);
  const show = await runCli(['pr', 'show', String(last.pr), '--json'], h.env(vendor));
  expect(show.code, show.stderr).toBe(0);
  return JSON.parse(show.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A Python src/ package whose test imports inflection, which only the dependency group in `more` (lines after
 * [project]) brings: the baseline passes only if the install brought it.
 */
function mathx(more: string[]): Record<string, string> {
  return {
    'pyproject.toml': [
      '[build-system]',
      'requires = ["setuptools>=64"]',
      'build-backend = "setuptools.build_meta"',
      '',
      '[project]',
      'name = "mathx"',
      'version = "0.1.0"',
      ...more,
      '',
      '[tool.pytest.ini_options]',
      'testpaths = ["tests"]',
      '',
    ].join('\n'),
    'src/mathx/__init__.py': 'def mean(values):\n    """The arithmetic mean."""\n    return sum(values) // len(values)\n',
    'tests/test_mathx.py': 'import inflection\nfrom mathx import mean\n\n\ndef test_mean_of_even_total():\n    assert mean([2, 4]) == 3\n    assert inflection.underscore("MeanValue") == "mean_value"\n',
  };
}

function mathxTurns(): ScriptTurn[] {
  return fixTurns({
    read: 'src/mathx/__init__.py',
    summary: 'mean floors its result; divide exactly.',
    fix: { path: 'src/mathx/__init__.py', old_text: 'sum(values) // len(values)', new_text: 'sum(values) / len(values)' },
    test: { path: 'tests/test_mathx.py', old_text: 'def test_mean_of_even_total():', new_text: 'def test_mean_of_odd_total():\n    assert mean([1, 2]) == 1.5\n\n\ndef test_mean_of_even_total():' },
    testName: 'tests/test_mathx.py::test_mean_of_odd_total',
  });
}

function expectMeanFixed(pr: Record<string, any>): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(pr.tests.before).toEqual({ passed: 1, failed: 0, skipped: 0 });
  expect(pr.tests.after).toEqual({ passed: 2, failed: 0, skipped: 0 });
  expect(pr.tests.newTests).toEqual([{ file: 'tests/test_mathx.py', test: 'tests/test_mathx.py::test_mean_of_odd_total', failedBefore: true, passedAfter: true }]);
  expect(git(repo, 'diff', '--name-only', `main...${pr.branch}`).split('\n')).toEqual(['src/mathx/__init__.py', 'tests/test_mathx.py']);
}

describe('slipway run opens a pull request in other languages', () => {
  it.runIf(has('go', 'version'))('Go: go test names, subtests included', async () => {
    repo = committedRepo('slipway-go-clamp-', {
      'go.mod': 'module example.com/clamp\n\ngo 1.21\n',
      'clamp.go': [
        'package clamp',
        '',
        '// Clamp limits v to [lo, hi].',
        'func Clamp(v, lo, hi int) int {',
        '\tif v < lo {',
        '\t\treturn lo',
        '\t}',
        '\tif v > hi {',
        '\t\treturn lo',
        '\t}',
        '\treturn v',
        '}',
        '',
      ].join('\n'),
      'clamp_test.go': [
        'package clamp',
        '',
        'import "testing"',
        '',
        'func TestClamp(t *testing.T) {',
        '\tt.Run("inside", func(t *testing.T) {',
        '\t\tif Clamp(5, 0, 10) != 5 {',
        '\t\t\tt.Fatal("inside")',
        '\t\t}',
        '\t})',
        '\tt.Run("below", func(t *testing.T) {',
        '\t\tif Clamp(-1, 0, 10) != 0 {',
        '\t\t\tt.Fatal("below")',
        '\t\t}',
        '\t})',
        '}',
        '',
      ].join('\n'),
    });
    h.server.turns(
      fixTurns({
        read: 'clamp.go',
        summary: 'Clamp returns lo for values above hi; return hi.',
        fix: { path: 'clamp.go', old_text: '\tif v > hi {\n\t\treturn lo', new_text: '\tif v > hi {\n\t\treturn hi' },
        test: {
          path: 'clamp_test.go',
          old_text: 'func TestClamp(t *testing.T) {',
          new_text:
            'func TestClampAbove(t *testing.T) {\n\tt.Run("one over", func(t *testing.T) {\n\t\tif got := Clamp(11, 0, 10); got != 10 {\n\t\t\tt.Fatalf("got %d", got)\n\t\t}\n\t})\n}\n\nfunc TestClamp(t *testing.T) {',
        },
        testName: 'TestClampAbove/one_over',
      }),
    );
    const pr = await runToPr('openai', 'Clamp returns the wrong value above the range');
    expect(pr.tests.command).toBe('go test -v ./...');
    expect(pr.tests.before).toEqual({ passed: 3, failed: 0, skipped: 0 });
    expect(pr.tests.after).toEqual({ passed: 5, failed: 0, skipped: 0 });
    expect(pr.tests.newTests).toEqual([
      { file: 'clamp_test.go', test: 'TestClampAbove', failedBefore: true, passedAfter: true },
      { file: 'clamp_test.go', test: 'TestClampAbove/one_over', failedBefore: true, passedAfter: true },
    ]);
    expect(pr.tests.newFailures).toEqual([]);
    expect(git(repo, 'show', `${pr.branch}:clamp.go`)).toContain('\t\treturn hi');
    expect(git(repo, 'diff', '--name-only', `main...${pr.branch}`).split('\n')).toEqual(['clamp.go', 'clamp_test.go']);
  }, 180_000);
  it.runIf(has('python3', '-m', 'pytest', '--version'))('Python: a src/ layout package is installed editable (its build backend from PyPI), with its dev dependency group, so its tests import both', async () => {
    repo = committedRepo('slipway-py-mathx-', mathx(['[dependency-groups]', 'dev = [{ include-group = "test" }]', 'test = ["inflection==0.5.1"]']));
    h.server.turns(mathxTurns());
    const pr = await runToPr('anthropic', 'mean rounds down; it should give the exact mean');
    expect(pr.tests.command).toMatch(/\.venv\/bin.*pytest/);
    expectMeanFixed(pr);
    expect(pr.decisions).toContainEqual(expect.objectContaining({ action: expect.stringMatching(/install dependencies.*pip install -e '\.' 'inflection==0\.5\.1'/) }));
    // The editable install's egg-info is left out of the change, and said so.
    expect(pr.decisions).toContainEqual(expect.objectContaining({ by: 'agent', action: expect.stringMatching(/leave out of the change what installing and testing made: .*src\/mathx\.egg-info\//) }));
  }, 180_000);

  // Slow (15-30 s): the install fetches uv from PyPI into the .venv, then setuptools and the locked inflection.
  it.runIf(has('python3', '-m', 'pytest', '--version'))('Python: a uv project is synced from its uv.lock (uv fetched from PyPI when it is not on the PATH)', async () => {
    repo = committedRepo('slipway-py-uv-', { ...mathx(['requires-python = ">=3.8"', '', '[dependency-groups]', 'dev = ["inflection==0.5.1"]']), 'uv.lock': UV_LOCK });
    h.server.turns(mathxTurns());
    const pr = await runToPr('openai', 'mean rounds down; it should give the exact mean', 240_000);
    expect(pr.decisions).toContainEqual(expect.objectContaining({ action: expect.stringMatching(/install dependencies.*sync --frozen --inexact --python \.venv\/bin\/python --group dev/) }));
    expectMeanFixed(pr);
  }, 260_000);

  it.runIf(has('cargo', '--version'))('Rust: cargo test names of an integration test in tests/', async () => {
    repo = committedRepo('slipway-rust-words-', {
      'Cargo.toml': '[package]\nname = "words"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
      'Cargo.lock': '# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n[[package]]\nname = "words"\nversion = "0.1.0"\n',
      '.gitignore': '/target\n',
      'src/lib.rs': '/// The number of words in `text`.\npub fn word_count(text: &str) -> usize {\n    text.split(\' \').count()\n}\n',
      'tests/count.rs': 'use words::word_count;\n\n#[test]\nfn counts_single_spaced_words() {\n    assert_eq!(word_count("a b c"), 3);\n}\n',
    });
    h.server.turns(
      fixTurns({
        read: 'src/lib.rs',
        summary: 'word_count splits on single spaces; split on any whitespace.',
        fix: { path: 'src/lib.rs', old_text: "text.split(' ').count()", new_text: 'text.split_whitespace().count()' },
        test: {
          path: 'tests/count.rs',
          old_text: '#[test]\nfn counts_single_spaced_words',
          new_text: '#[test]\nfn ignores_repeated_spaces() {\n    assert_eq!(word_count("  a   b "), 2);\n}\n\n#[test]\nfn counts_single_spaced_words',
        },
        testName: 'ignores_repeated_spaces',
      }),
    );
    const pr = await runToPr('anthropic', 'word_count is wrong when words are separated by several spaces');
    expect(pr.tests.command).toBe('cargo test');
    expect(pr.tests.before).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(pr.tests.after).toEqual({ passed: 2, failed: 0, skipped: 0 });
    expect(pr.tests.newTests).toEqual([{ file: 'tests/count.rs', test: 'ignores_repeated_spaces', failedBefore: true, passedAfter: true }]);
    expect(pr.tests.newFailures).toEqual([]);
    expect(git(repo, 'diff', '--name-only', `main...${pr.branch}`).split('\n')).toEqual(['src/lib.rs', 'tests/count.rs']);
  }, 180_000);
  it.runIf(has('cargo', '--version'))('Rust: a unit test beside the code in src/ is proven against the base code', async () => {
    const tests = (extra: string) =>
      `#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn counts_single_spaced_words() {\n        assert_eq!(word_count("a b c"), 3);\n    }\n${extra}}\n`;
    const code = '/// The number of words in `text`.\npub fn word_count(text: &str) -> usize {\n    text.split(\' \').count()\n}\n';
    repo = committedRepo('slipway-rust-inline-', {
      'Cargo.toml': '[package]\nname = "words"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
      'Cargo.lock': '# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n[[package]]\nname = "words"\nversion = "0.1.0"\n',
      '.gitignore': '/target\n',
      'src/lib.rs': `${code}\n${tests('')}`,
    });
    const weak = '\n    #[test]\n    fn counts_words() {\n        assert_eq!(word_count("a b"), 2);\n    }\n';
    const strong = '\n    #[test]\n    fn ignores_repeated_spaces() {\n        assert_eq!(word_count("  a   b "), 2);\n    }\n';
    const acceptance = ['The bug is fixed', 'A new test fails before the fix and passes after it'];
    const pass = { toolCalls: [{ name: 'submit_verdict', input: { verdict: 'pass', findings: acceptance.map((check) => ({ check, verdict: 'pass', evidence: 'src/lib.rs' })) } }] };
    h.server.turns([
      { toolCalls: [{ name: 'submit_plan', input: { summary: 'Split on any whitespace.', steps: ['Fix word_count', 'Add a unit test'], acceptance } }] },
      { toolCalls: [{ name: 'edit_file', input: { path: 'src/lib.rs', old_text: "text.split(' ').count()", new_text: 'text.split_whitespace().count()' } }] },
      // First a test that passes on the base code too: Slipway's proof must send it back.
      { toolCalls: [{ name: 'edit_file', input: { path: 'src/lib.rs', old_text: '    }\n}\n', new_text: `    }\n${weak}}\n` } }] },
      { toolCalls: [{ name: 'finish', input: { summary: 'word_count splits on any whitespace.' } }] },
      pass,
      { toolCalls: [{ name: 'edit_file', input: { path: 'src/lib.rs', old_text: weak, new_text: strong } }] },
      { toolCalls: [{ name: 'finish', input: { summary: 'word_count splits on any whitespace; the test has repeated spaces.' } }] },
      pass,
    ]);
    const pr = await runToPr('openai', 'word_count is wrong when words are separated by several spaces');
    const sentBack = h.server.requests.find((r) => r.rawBody.includes('does not catch the bug'));
    expect(sentBack?.rawBody).toContain('tests::counts_words');
    expect(pr.tests.command).toBe('cargo test');
    expect(pr.tests.before).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(pr.tests.after).toEqual({ passed: 2, failed: 0, skipped: 0 });
    expect(pr.tests.newTests).toEqual([{ file: 'src/lib.rs', test: 'tests::ignores_repeated_spaces', failedBefore: true, passedAfter: true }]);
    expect(git(repo, 'diff', '--name-only', `main...${pr.branch}`)).toBe('src/lib.rs');
  }, 180_000);
  // Slow (35-80 s): the install step downloads Maven's plugins, JUnit and surefire's JUnit provider from
  // Maven Central through the egress proxy into this test's own dependency cache.
  it.runIf(has('mvn', '--version'))('Java: Maven and JUnit 5 test names, the install through the registry proxy', async () => {
    // The same project as the Maven eval instance (test/e2e/eval/fixtures.ts).
    repo = committedRepo('slipway-maven-money-', MAVEN_FILES);
    h.server.turns(
      fixTurns({
        read: 'src/main/java/example/Money.java',
        summary: 'percentOf divides before multiplying and loses the cents; multiply first.',
        fix: { path: 'src/main/java/example/Money.java', old_text: 'return amount / 100 * percent;', new_text: 'return amount * percent / 100;' },
        test: {
          path: 'src/test/java/example/MoneyTest.java',
          old_text: '  @Test\n  void percentOfRoundAmounts() {',
          new_text: '  @Test\n  void percentOfSmallAmounts() {\n    assertEquals(5, Money.percentOf(50, 10));\n  }\n\n  @Test\n  void percentOfRoundAmounts() {',
        },
        testName: 'example.MoneyTest.percentOfSmallAmounts',
      }),
    );
    const pr = await runToPr('openai', 'percentOf is 0 for amounts under 100', 280_000);
    expect(pr.tests.command).toBe('mvn -B test -Dsurefire.reportFormat=plain');
    expect(pr.tests.before).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(pr.tests.after).toEqual({ passed: 2, failed: 0, skipped: 0 });
    expect(pr.tests.newTests).toEqual([
      { file: 'src/test/java/example/MoneyTest.java', test: 'example.MoneyTest.percentOfSmallAmounts', failedBefore: true, passedAfter: true },
    ]);
    expect(pr.tests.newFailures).toEqual([]);
    expect(pr.decisions.map((d: { action: string }) => d.action)).toContainEqual(expect.stringMatching(/^dependency install reached .*repo\.maven\.apache\.org:443/));
    expect(git(repo, 'diff', '--name-only', `main...${pr.branch}`).split('\n')).toEqual(['src/main/java/example/Money.java', 'src/test/java/example/MoneyTest.java']);
  }, 300_000);
});
