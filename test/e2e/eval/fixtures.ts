/** Repositories, instances and per-instance scripts for the `slipway eval` scenarios (not a test file itself). */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { cliEnv, runCli, type CliResult } from '../../support/cli.js';
import { committedRepo, git, tempDir } from '../../support/repos.js';

/** A fresh repository with `files` committed on main; returns its folder and the commit. */
export function makeRepo(name: string, files: Record<string, string>): { dir: string; commit: string } {
  const dir = committedRepo(`slipway-eval-${name}-`, files);
  return { dir, commit: git(dir, 'rev-parse', 'HEAD') };
}

/** The unified diff that turns `before` into `after` for one file, as `git diff` writes it. */
export function fileDiff(file: string, before: string, after: string): string {
  const dir = tempDir('slipway-eval-diff-');
  writeFileSync(path.join(dir, 'a'), before);
  writeFileSync(path.join(dir, 'b'), after);
  let out = '';
  try {
    git(dir, 'diff', '--no-index', '--no-color', 'a', 'b');
  } catch (error) {
    out = String((error as { stdout?: unknown }).stdout ?? '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out
    .replace(/^diff --git a\/a b\/b$/m, `diff --git a/${file} b/${file}`)
    .replace(/^--- a\/a$/m, `--- a/${file}`)
    .replace(/^\+\+\+ b\/b$/m, `+++ b/${file}`);
}

export function writeScript(dir: string, id: string, turns: ScriptTurn[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ turns }, null, 2));
}

export function plan(summary: string, steps: string[]): ScriptTurn {
  return { toolCalls: [{ name: 'submit_plan', input: { summary, steps, acceptance: ['The problem in the statement is fixed'] } }] };
}

export function edit(file: string, oldText: string, newText: string): ScriptTurn {
  return { toolCalls: [{ name: 'edit_file', input: { path: file, old_text: oldText, new_text: newText } }] };
}

export function finish(summary: string, noTestReason?: string): ScriptTurn {
  return { toolCalls: [{ name: 'finish', input: { summary, ...(noTestReason ? { no_test_reason: noTestReason } : {}) } }] };
}

export const verdictPass: ScriptTurn = {
  toolCalls: [
    {
      name: 'submit_verdict',
      input: { verdict: 'pass', findings: [{ check: 'The problem in the statement is fixed', verdict: 'pass', evidence: 'the diff does it' }] },
    },
  ],
};

// --- JavaScript (node:test) -----------------------------------------------------------------------------

export const CALC_JS = `export function add(a, b) {
  return a + b;
}

export function average(values) {
  return values.reduce((sum, v) => sum + v, 0) / (values.length - 1);
}
`;

export const CALC_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add } from '../src/calc.js';

test('adds numbers', () => {
  assert.equal(add(2, 3), 5);
});
`;

/** The upstream test for the fix: a new describe block, so its id is nested ("average > ..."). */
export const CALC_TEST_FIXED = `${CALC_TEST.replace("import { add } from '../src/calc.js';", "import { add, average } from '../src/calc.js';").replace("import { test } from 'node:test';", "import { describe, test } from 'node:test';")}
describe('average', () => {
  test('of three values', () => {
    assert.equal(average([1, 2, 3]), 2);
  });
});
`;

export function jsRepo() {
  return makeRepo('calc', {
    'package.json': JSON.stringify({ name: 'calc', private: true, type: 'module', scripts: { test: 'node --test' } }, null, 2),
    'src/calc.js': CALC_JS,
    'test/calc.test.js': CALC_TEST,
  });
}

const fixAverage = edit('src/calc.js', '/ (values.length - 1)', '/ values.length');
const jsPlan = plan('average divides by one too few values.', ['Divide by values.length in src/calc.js']);

export const jsScripts: Record<string, ScriptTurn[]> = {
  // The real fix, with Slipway's own test (in the file the test patch replaces).
  'calc-fixed': [
    jsPlan,
    fixAverage,
    edit('test/calc.test.js', "test('adds numbers', () => {", "test('averages two values', async () => {\n  const { average } = await import('../src/calc.js');\n  assert.equal(average([2, 4]), 3);\n});\n\ntest('adds numbers', () => {"),
    finish('average divides by the number of values.'),
    verdictPass,
  ],
  // Edits only the test file; Slipway sends the useless test back, the run escalates with its branch kept.
  'calc-tests-only': [
    jsPlan,
    edit('test/calc.test.js', "test('adds numbers', () => {", "test('average exists', async () => {\n  const { average } = await import('../src/calc.js');\n  assert.equal(typeof average, 'function');\n});\n\ntest('adds numbers', () => {"),
    finish('Added a test for average.'),
    verdictPass,
  ],
  // Fixes average but breaks add: a PASS_TO_PASS test fails; Slipway escalates, the harness says unresolved.
  'calc-breaks-add': [jsPlan, fixAverage, edit('src/calc.js', 'return a + b;', 'return a + b + 1;'), finish('average fixed.', 'the existing tests cover it'), verdictPass],
};

// --- Go, with one module dependency fetched through the sandbox ----------------------------------------

export const GO_FILES: Record<string, string> = {
  'go.mod': 'module example.com/clamp\n\ngo 1.21\n\nrequire github.com/google/go-cmp v0.6.0\n',
  'go.sum':
    'github.com/google/go-cmp v0.6.0 h1:ofyhxvXcZhMsU5ulbFiLKl/XBFqE1GSq7atu8tAmTRI=\n' +
    'github.com/google/go-cmp v0.6.0/go.mod h1:17dUlkBOakJ0+DkrSSNjCkIjxS6bF9zb3elmeNGIjoY=\n',
  'clamp.go': `package clamp

// Clamp limits v to [lo, hi].
func Clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return v
	}
	return v
}
`,
  'clamp_test.go': `package clamp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBelow(t *testing.T) {
	if diff := cmp.Diff(1, Clamp(-5, 1, 9)); diff != "" {
		t.Fatal(diff)
	}
}
`,
};

export const GO_TEST_FIXED = `${GO_FILES['clamp_test.go']}
func TestClamp(t *testing.T) {
	t.Run("inside", func(t *testing.T) {
		if diff := cmp.Diff(5, Clamp(5, 1, 9)); diff != "" {
			t.Fatal(diff)
		}
	})
	t.Run("above", func(t *testing.T) {
		if diff := cmp.Diff(9, Clamp(20, 1, 9)); diff != "" {
			t.Fatal(diff)
		}
	})
}
`;

export const goScript: ScriptTurn[] = [
  plan('Clamp returns v above hi.', ['Return hi when v > hi']),
  edit('clamp.go', 'if v > hi {\n\t\treturn v', 'if v > hi {\n\t\treturn hi'),
  finish('Clamp returns hi above the range.', 'the upstream tests cover it'),
  verdictPass,
];

// --- Python (pytest), with one package installed from the index through the sandbox ------------------

export const PY_FILES: Record<string, string> = {
  'pyproject.toml': '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
  'chunks/__init__.py': '',
  'chunks/core.py': `from toolz import partition_all


def chunk(values, size):
    """Split values into lists of at most size items."""
    return [list(p) for p in partition_all(size, values)][:-1]
`,
  'tests/test_core.py': `from chunks.core import chunk


def test_empty():
    assert chunk([], 2) == []
`,
};

export const PY_TEST_FIXED = `${PY_FILES['tests/test_core.py']}

def test_keeps_the_last_chunk():
    assert chunk([1, 2, 3], 2) == [[1, 2], [3]]
`;

export const pyScript: ScriptTurn[] = [
  plan('chunk drops its last chunk.', ['Return every chunk']),
  edit('chunks/core.py', 'for p in partition_all(size, values)][:-1]', 'for p in partition_all(size, values)]'),
  finish('chunk keeps the last chunk.', 'the upstream tests cover it'),
  verdictPass,
];

// --- Java (Maven, JUnit 5), its plugins and JUnit downloaded from Maven Central through the proxy ---------

const MONEY_TEST = (extra: string) =>
  [
    'package example;',
    '',
    'import static org.junit.jupiter.api.Assertions.assertEquals;',
    '',
    'import org.junit.jupiter.api.Test;',
    '',
    'class MoneyTest {',
    '  @Test',
    '  void percentOfRoundAmounts() {',
    '    assertEquals(20, Money.percentOf(200, 10));',
    '  }',
    extra,
    '}',
    '',
  ].join('\n');

export const MAVEN_FILES: Record<string, string> = {
  'pom.xml': `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>money</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.14.4</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>3.5.4</version>
      </plugin>
    </plugins>
  </build>
</project>
`,
  '.gitignore': 'target/\n',
  'src/main/java/example/Money.java': [
    'package example;',
    '',
    'public final class Money {',
    '  private Money() {}',
    '',
    '  /** percent % of amount, in whole cents. */',
    '  public static long percentOf(long amount, int percent) {',
    '    return amount / 100 * percent;',
    '  }',
    '}',
    '',
  ].join('\n'),
  'src/test/java/example/MoneyTest.java': MONEY_TEST(''),
};

/** The upstream test for the fix: one more test method in the same class. */
export const MAVEN_TEST_FIXED = MONEY_TEST('\n  @Test\n  void percentOfSmallAmounts() {\n    assertEquals(5, Money.percentOf(50, 10));\n  }');

export const mavenScript: ScriptTurn[] = [
  plan('percentOf divides before multiplying and loses the cents.', ['Multiply before dividing in Money.percentOf']),
  edit('src/main/java/example/Money.java', 'return amount / 100 * percent;', 'return amount * percent / 100;'),
  finish('percentOf multiplies first.', 'the upstream tests cover it'),
  verdictPass,
];

// --- One-instance evaluations -----------------------------------------------------------------------------

export interface SingleEval {
  work: string;
  out: string;
  result: CliResult;
}

/** Evaluates one instance of a fresh repository through the built CLI with its own script. */
export async function evalOne(
  name: string,
  files: Record<string, string>,
  instance: Record<string, unknown> & { instance_id: string },
  turns: ScriptTurn[],
  timeoutMs = 150_000,
): Promise<SingleEval & { repo: string }> {
  const work = tempDir(`slipway-eval-${name}-`);
  const repo = makeRepo(name, files);
  const scripts = path.join(work, 'scripts');
  writeScript(scripts, instance.instance_id, turns);
  const file = path.join(work, 'instances.jsonl');
  writeFileSync(file, `${JSON.stringify({ repo: repo.dir, base_commit: repo.commit, ...instance })}\n`);
  const out = path.join(work, 'out');
  const result = await runCli(['eval', file, '--model', `script:${scripts}`, '--out', out], cliEnv(path.join(work, 'home')), { timeoutMs });
  return { work, out, result, repo: repo.dir };
}
