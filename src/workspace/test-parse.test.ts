/** Parsers on captured output of the real runners. */
import { describe, expect, it } from 'vitest';
import type { TestCaseResult } from '../protocol/tests.js';
import { parseTestOutput } from './test-parse.js';

const ids = (tests: TestCaseResult[]): Record<string, string> => Object.fromEntries(tests.map((t) => [t.id, t.status]));

const NODE_TAP = `TAP version 13
# Subtest: adds
ok 1 - adds
  ---
  duration_ms: 1.9
  ...
# Subtest: fails
not ok 2 - fails
  ---
  duration_ms: 2.1
  error: |-
    not ok 99 - this is inside the YAML block
  ...
# Subtest: suite A
    # Subtest: one
    ok 1 - one
      ---
      duration_ms: 0.4
      ...
    # Subtest: deep
        # Subtest: two
        not ok 1 - two
          ---
          duration_ms: 0.2
          ...
        1..1
    not ok 2 - deep
      ---
      type: 'suite'
      ...
    1..2
not ok 3 - suite A
  ---
  type: 'suite'
  ...
# Subtest: skipped one
ok 4 - skipped one # SKIP
  ---
  ...
# Subtest: later
ok 5 - later # TODO
  ---
  ...
1..5
# tests 6
# suites 2
# pass 2
# fail 2
# cancelled 0
# skipped 1
# todo 1
# duration_ms 349.5
`;

const NODE_SPEC = `✔ adds (2.30ms)
✖ fails (1.95ms)
  AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
      at TestContext.<anonymous> (/tmp/a.test.js:4:30)

▶ outer
  ✔ inner ok (0.40ms)
  ✖ inner bad (0.24ms)
    Error: boom

✖ outer (5.68ms)
﹣ skipped one (0.17ms) # SKIP
✔ later (0.14ms) # TODO
ℹ tests 7
ℹ suites 0
ℹ pass 2
ℹ fail 3
ℹ cancelled 0
ℹ skipped 1
ℹ todo 1
ℹ duration_ms 368.6

✖ failing tests:

test at a.test.js:4:1
✖ fails (1.95ms)
`;

const PYTEST = `============================= test session starts ==============================
collected 8 items

tests/test_x.py .Fs...Ex                                                 [100%]

=========================== short test summary info ============================
PASSED tests/test_x.py::test_ok
PASSED tests/test_x.py::test_param[a - b]
PASSED tests/test_x.py::TestK::test_m
SKIPPED [1] tests/test_x.py:4: nope
XFAIL tests/test_x.py::test_xf
ERROR tests/test_x.py::test_err - RuntimeError: x
FAILED tests/test_x.py::test_bad - assert 1 == 2
========== 1 failed, 3 passed, 1 skipped, 1 xfailed, 1 error in 0.03s ==========
`;

const GO = `# example.com/m/broken
broken/b.go:3:1: syntax error: non-declaration statement outside function body
FAIL	example.com/m/broken [build failed]
=== RUN   TestA
=== RUN   TestA/sub_ok
=== RUN   TestA/bad
    a_test.go:3: x
--- FAIL: TestA (0.00s)
    --- PASS: TestA/sub_ok (0.00s)
    --- FAIL: TestA/bad (0.00s)
=== RUN   TestS
--- SKIP: TestS (0.00s)
FAIL
FAIL	example.com/m	0.003s
=== RUN   TestC
--- PASS: TestC (0.00s)
PASS
ok  	example.com/m/sub	0.002s
?   	example.com/m/notest	[no test files]
FAIL
`;

const CARGO = `   Compiling tiny v0.1.0 (/tmp/tiny)
    Finished \`test\` profile [unoptimized + debuginfo] target(s) in 0.41s
     Running unittests src/lib.rs (target/debug/deps/tiny-1f2e)

running 3 tests
test tests::slow ... ignored, takes too long
test tests::adds ... ok
test tests::wrong ... FAILED

failures:

---- tests::wrong stdout ----
assertion \`left == right\` failed

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/api.rs (target/debug/deps/api-9a8b)

running 1 test
test works ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
`;

const MAVEN = `[INFO] -------------------------------------------------------
[INFO]  T E S T S
[INFO] -------------------------------------------------------
[INFO] Running com.example.AppTest
[ERROR] Tests run: 3, Failures: 1, Errors: 0, Skipped: 1, Time elapsed: 0.045 s <<< FAILURE! - in com.example.AppTest
[ERROR] testBad(com.example.AppTest)  Time elapsed: 0.004 s  <<< FAILURE!
java.lang.AssertionError: expected:<1> but was:<2>
	at com.example.AppTest.testBad(AppTest.java:18)

[INFO] Running com.example.OtherTest
[ERROR] Tests run: 2, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 0.01 s <<< FAILURE! -- in com.example.OtherTest
[ERROR] com.example.OtherTest.boom -- Time elapsed: 0.002 s <<< ERROR!
java.lang.IllegalStateException: boom
[INFO]
[INFO] Results:
[INFO]
[ERROR] Failures:
[ERROR]   AppTest.testBad:18 expected:<1> but was:<2>
[ERROR] Errors:
[ERROR]   OtherTest.boom:9 IllegalState boom
[INFO]
[ERROR] Tests run: 5, Failures: 1, Errors: 1, Skipped: 1
[INFO]
[INFO] BUILD FAILURE
`;

/** -Dsurefire.reportFormat=plain: every test listed (surefire 3.5 with JUnit 5, then surefire 2.12 with JUnit 4). */
const MAVEN_PLAIN = `[INFO] Running example.CalcTest
[ERROR] Tests run: 6, Failures: 1, Errors: 0, Skipped: 1, Time elapsed: 0.371 s <<< FAILURE! -- in example.CalcTest
[ERROR] example.CalcTest.firstLarger -- Time elapsed: 0.086 s
[ERROR] example.CalcTest.secondLarger -- Time elapsed: 0.028 s <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <3> but was: <1>
	at example.CalcTest.secondLarger(CalcTest.java:12)

[ERROR] example.CalcTest.later skipped
[ERROR] example.CalcTest$Inner.named -- Time elapsed: 0.006 s
[ERROR] example.CalcTest.param(int, java.lang.String)[1] -- Time elapsed: 0.023 s
[INFO]
[INFO] Results:
[INFO]
[ERROR] Failures:
[ERROR]   CalcTest.secondLarger:12 expected: <3> but was: <1>
[INFO]
[ERROR] Tests run: 6, Failures: 1, Errors: 0, Skipped: 1
[INFO]
Running example.TwoTest
Tests run: 3, Failures: 1, Errors: 0, Skipped: 1, Time elapsed: 0.084 sec <<< FAILURE!
bad(example.TwoTest)  Time elapsed: 0.024 sec  <<< FAILURE!
java.lang.AssertionError: expected:<2> but was:<3>

two(example.TwoTest)  Time elapsed: 0 sec
later(example.TwoTest) skipped
each[0](example.TwoTest)  Time elapsed: 0 sec

Results :

Failed tests:   bad(example.TwoTest): expected:<2> but was:<3>

Tests run: 3, Failures: 1, Errors: 0, Skipped: 1
`;

const VITEST_TREE = ` RUN  v4.1.12 /tmp/vt

 ❯ a.test.mjs (4 tests | 1 failed | 1 skipped) 16ms
   ✓ adds 3ms
   × fails 11ms
     ✓ inner 0ms
     ↓ sk

 FAIL  a.test.mjs > fails
AssertionError: expected 1 to be 2

 Test Files  1 failed (1)
      Tests  1 failed | 2 passed | 1 skipped (4)
   Start at  22:36:23
`;

const VITEST_VERBOSE = ` ✓ a.test.mjs > adds 3ms
 × a.test.mjs > fails 8ms
   → expected 1 to be 2
 ✓ a.test.mjs > group > inner 0ms
 ↓ a.test.mjs > group > sk

 Test Files  1 failed (1)
      Tests  1 failed | 2 passed | 1 skipped (4)
`;

const JEST = `FAIL src/sum.test.js
  sum
    ✓ adds (2 ms)
    ✕ fails (3 ms)
    ○ skipped later
  ✓ top level (1 ms)

  ● sum › fails

    expect(received).toBe(expected)

Test Suites: 1 failed, 1 total
Tests:       1 failed, 1 skipped, 2 passed, 4 total
Snapshots:   0 total
`;

const MOCHA = `

  Array
    #indexOf()
      ✔ returns -1 when absent
      1) finds the index
      - pending thing


  1 passing (6ms)
  1 pending
  1 failing

  1) Array
       #indexOf()
         finds the index:
     AssertionError: expected 0 to equal 1
`;

/** `bun test` (bun 1.4.5), stdout and stderr as the sandbox collects them (not a terminal). */
const BUN = `bun test v1.4.5 (a7733435c)

t/other.test.ts:
(pass) other passes [0.09ms]
(todo) later

t/math.test.js:
(pass) math > adds [0.02ms]
1 | import { test, expect, describe } from "bun:test";
2 | describe("math", () => {
3 |   test("adds", () => { expect(1 + 1).toBe(2); });
4 |   test("fails", () => { expect(1 + 1).toBe(3); });
                                          ^
error: expect(received).toBe(expected)

Expected: 3
Received: 2

      at <anonymous> (/home/me/shop/t/math.test.js:4:39)
(fail) math > fails [0.26ms]
(skip) math > skipped one
(pass) math > nested > deep > name [0.02ms]
(pass) top level

 4 pass
 1 skip
 1 todo
 1 fail
 3 expect() calls
Ran 7 tests across 2 files. [63.00ms]
`;

describe('parseTestOutput', () => {
  it('node:test TAP: nested ids, suites left out, YAML skipped, summary counts', () => {
    const r = parseTestOutput('node-test', NODE_TAP);
    expect(r.counts).toEqual({ passed: 2, failed: 2, skipped: 2 });
    expect(ids(r.tests)).toEqual({
      adds: 'passed',
      fails: 'failed',
      'suite A > one': 'passed',
      'suite A > deep > two': 'failed',
      'skipped one': 'skipped',
      later: 'skipped',
    });
  });

  it('node:test spec reporter: nested ids, the repeated failure list ignored', () => {
    const r = parseTestOutput('node-test', NODE_SPEC);
    expect(r.counts).toEqual({ passed: 2, failed: 3, skipped: 2 });
    expect(ids(r.tests)).toEqual({
      adds: 'passed',
      fails: 'failed',
      'outer > inner ok': 'passed',
      'outer > inner bad': 'failed',
      outer: 'failed',
      'skipped one': 'skipped',
      later: 'skipped',
    });
  });

  it('pytest -rA: node ids, files, the final line for counts', () => {
    const r = parseTestOutput('pytest', PYTEST);
    expect(r.counts).toEqual({ passed: 3, failed: 2, skipped: 2 });
    expect(ids(r.tests)).toEqual({
      'tests/test_x.py::test_ok': 'passed',
      'tests/test_x.py::test_param[a - b]': 'passed',
      'tests/test_x.py::TestK::test_m': 'passed',
      'tests/test_x.py:4': 'skipped',
      'tests/test_x.py::test_xf': 'skipped',
      'tests/test_x.py::test_err': 'failed',
      'tests/test_x.py::test_bad': 'failed',
    });
    expect(r.tests.every((t) => t.file === 'tests/test_x.py')).toBe(true);
    expect(parseTestOutput('pytest', '=== no tests ran in 0.01s ===').counts).toEqual({ passed: 0, failed: 0, skipped: 0 });
    expect(parseTestOutput('pytest', '3 passed, 1 warning in 0.20s').counts).toEqual({ passed: 3, failed: 0, skipped: 0 });
  });

  it('go test -v: subtests, and a package that fails to build counts as a failure', () => {
    const r = parseTestOutput('go', GO);
    expect(ids(r.tests)).toEqual({
      'example.com/m/broken [build failed]': 'failed',
      TestA: 'failed',
      'TestA/sub_ok': 'passed',
      'TestA/bad': 'failed',
      TestS: 'skipped',
      TestC: 'passed',
    });
    expect(r.counts).toEqual({ passed: 2, failed: 3, skipped: 1 });
  });

  it('cargo test: per test with its source file, test result lines summed', () => {
    const r = parseTestOutput('cargo', CARGO);
    expect(r.counts).toEqual({ passed: 2, failed: 1, skipped: 1 });
    expect(ids(r.tests)).toEqual({ 'tests::slow': 'skipped', 'tests::adds': 'passed', 'tests::wrong': 'failed', works: 'passed' });
    expect(r.tests.find((t) => t.id === 'works')?.file).toBe('tests/api.rs');
  });

  it('maven surefire: the Results summary, failing tests from both surefire formats', () => {
    const r = parseTestOutput('maven', MAVEN);
    expect(r.counts).toEqual({ passed: 2, failed: 2, skipped: 1 });
    expect(ids(r.tests)).toEqual({ 'com.example.AppTest.testBad': 'failed', 'com.example.OtherTest.boom': 'failed' });
  });

  it('maven surefire, plain report: passing and skipped tests by name too', () => {
    const r = parseTestOutput('maven', MAVEN_PLAIN);
    expect(r.counts).toEqual({ passed: 5, failed: 2, skipped: 2 });
    expect(ids(r.tests)).toEqual({
      'example.CalcTest.firstLarger': 'passed',
      'example.CalcTest.secondLarger': 'failed',
      'example.CalcTest.later': 'skipped',
      'example.CalcTest$Inner.named': 'passed',
      'example.CalcTest.param(int, java.lang.String)[1]': 'passed',
      'example.TwoTest.bad': 'failed',
      'example.TwoTest.two': 'passed',
      'example.TwoTest.later': 'skipped',
      'example.TwoTest.each[0]': 'passed',
    });
  });

  it('gradle: counts from the failure summary', () => {
    const r = parseTestOutput('gradle', 'AppTest > testBad() FAILED\n    java.lang.AssertionError\n\n3 tests completed, 1 failed, 1 skipped\n\nFAILURE: Build failed');
    expect(r.counts).toEqual({ passed: 1, failed: 1, skipped: 1 });
    expect(ids(r.tests)).toEqual({ 'AppTest > testBad()': 'failed' });
    expect(parseTestOutput('gradle', 'BUILD SUCCESSFUL in 3s').counts).toBeNull();
  });

  it('vitest: default tree and verbose reporters, colours stripped', () => {
    const tree = parseTestOutput('vitest', VITEST_TREE.replace('Tests ', '\x1b[2mTests \x1b[22m'));
    expect(tree.counts).toEqual({ passed: 2, failed: 1, skipped: 1 });
    expect(ids(tree.tests)).toMatchObject({ 'a.test.mjs > adds': 'passed', 'a.test.mjs > fails': 'failed' });
    const verbose = parseTestOutput('vitest', VITEST_VERBOSE);
    expect(ids(verbose.tests)).toEqual({
      'a.test.mjs > adds': 'passed',
      'a.test.mjs > fails': 'failed',
      'a.test.mjs > group > inner': 'passed',
      'a.test.mjs > group > sk': 'skipped',
    });
    expect(verbose.tests[0]?.file).toBe('a.test.mjs');
  });

  it('jest and mocha: summaries and nested names', () => {
    const jest = parseTestOutput('jest', JEST);
    expect(jest.counts).toEqual({ passed: 2, failed: 1, skipped: 1 });
    expect(ids(jest.tests)).toEqual({
      'src/sum.test.js > sum > adds': 'passed',
      'src/sum.test.js > sum > fails': 'failed',
      'src/sum.test.js > sum > later': 'skipped',
      'src/sum.test.js > top level': 'passed',
    });
    const mocha = parseTestOutput('mocha', MOCHA);
    expect(mocha.counts).toEqual({ passed: 1, failed: 1, skipped: 1 });
    expect(ids(mocha.tests)).toEqual({
      'Array > #indexOf() > returns -1 when absent': 'passed',
      'Array > #indexOf() > finds the index': 'failed',
      'Array > #indexOf() > pending thing': 'skipped',
    });
  });

  it('bun test: per file, nested names, todo and skip as skipped; the terminal marks too', () => {
    const bun = parseTestOutput('bun', BUN);
    expect(bun.counts).toEqual({ passed: 4, failed: 1, skipped: 2 });
    expect(ids(bun.tests)).toEqual({
      't/other.test.ts > other passes': 'passed',
      't/other.test.ts > later': 'skipped',
      't/math.test.js > math > adds': 'passed',
      't/math.test.js > math > fails': 'failed',
      't/math.test.js > math > skipped one': 'skipped',
      't/math.test.js > math > nested > deep > name': 'passed',
      't/math.test.js > top level': 'passed',
    });
    expect(bun.tests[2]?.file).toBe('t/math.test.js');
    const terminal = BUN.replace(/^\(pass\)/gm, '✓').replace(/^\(fail\)/gm, '✗').replace(/^\(skip\)/gm, '»').replace(/^\(todo\)/gm, '✎');
    expect(parseTestOutput('bun', terminal)).toEqual(bun);
    // Found behind a script of another name; and no summary, no counts.
    expect(parseTestOutput('unknown', BUN).counts).toEqual({ passed: 4, failed: 1, skipped: 2 });
    expect(parseTestOutput('bun', 'error: Cannot find module "./cart"\n')).toMatchObject({ counts: null, reason: expect.stringMatching(/bun test summary/) });
  });

  it('never makes up a zero: no summary means null counts and a reason', () => {
    const py = parseTestOutput('pytest', 'ImportError: No module named pytest\n');
    expect(py.counts).toBeNull();
    expect(py.reason).toBe('no pytest summary line found in output');
    const cargo = parseTestOutput('cargo', 'error[E0425]: cannot find value `x`\nerror: could not compile `tiny`');
    expect(cargo.counts).toBeNull();
    expect(cargo.reason).toMatch(/test result/);
    expect(parseTestOutput('go', 'go: command not found').counts).toBeNull();
    expect(parseTestOutput('maven', '[INFO] BUILD SUCCESS').counts).toBeNull();
    expect(parseTestOutput('node-test', 'SyntaxError: Unexpected token').counts).toBeNull();
  });

  it('recognises the runner behind an unknown framework (make test, a script)', () => {
    expect(parseTestOutput('make', `cd py && ${PYTEST}`).counts).toEqual({ passed: 3, failed: 2, skipped: 2 });
    expect(parseTestOutput('unknown', CARGO).counts).toEqual({ passed: 2, failed: 1, skipped: 1 });
    expect(parseTestOutput('make', 'all good\n')).toMatchObject({ counts: null, reason: expect.stringMatching(/no test summary/) });
  });
});
