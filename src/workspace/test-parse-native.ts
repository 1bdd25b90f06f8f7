/** Parsers for pytest, go test, cargo test, maven surefire and gradle. */
import type { TestCaseResult, TestStatus } from '../protocol/tests.js';
import { counts, countTests, tally, type ParsedTestOutput } from './test-parse-util.js';

const PYTEST_STATUS: Record<string, TestStatus> = {
  PASSED: 'passed',
  XPASS: 'passed',
  FAILED: 'failed',
  ERROR: 'failed',
  SKIPPED: 'skipped',
  XFAIL: 'skipped',
};

/** The node id before " - message"; a " - " inside parameter brackets belongs to the id. */
function pytestId(rest: string): string {
  let from = 0;
  for (;;) {
    const at = rest.indexOf(' - ', from);
    if (at < 0) return rest;
    const head = rest.slice(0, at);
    if (head.split('[').length === head.split(']').length) return head;
    from = at + 3;
  }
}

/** pytest -rA: the short summary lines and the final "== 3 passed, 1 failed in 0.1s ==" line. */
export function parsePytest(lines: string[]): ParsedTestOutput {
  const byId = new Map<string, TestCaseResult>();
  let found: Map<string, number> | null = null;
  const put = (id: string, status: TestStatus): void => {
    const file = id.split('::')[0]?.replace(/:\d+$/, '');
    byId.set(id, { id, status, ...(file ? { file } : {}) });
  };
  for (const line of lines) {
    const final = /^=*\s*((?:\d+ [a-z]+(?:, )?)+|no tests ran)\s+in [\d.]+s\b.*?=*\s*$/.exec(line);
    if (final) {
      found = tally(final[1] ?? '');
      continue;
    }
    const skipped = /^SKIPPED \[\d+\] (\S+?:\d+)(?::.*)?$/.exec(line);
    if (skipped) {
      put(skipped[1] ?? '', 'skipped');
      continue;
    }
    const short = /^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S.*)$/.exec(line);
    if (short) {
      put(pytestId(short[2] ?? ''), PYTEST_STATUS[short[1] ?? ''] ?? 'failed');
      continue;
    }
    // -v lines: "tests/test_x.py::test_ok PASSED [ 50%]"
    const verbose = /^(\S+::\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b/.exec(line);
    if (verbose) put(verbose[1] ?? '', PYTEST_STATUS[verbose[2] ?? ''] ?? 'failed');
  }
  const tests = [...byId.values()];
  if (!found) return { counts: null, tests, reason: 'no pytest summary line found in output' };
  const get = (k: string): number => found.get(k) ?? 0;
  return {
    counts: counts(get('passed') + get('xpassed'), get('failed') + get('error') + get('errors'), get('skipped') + get('xfailed')),
    tests,
  };
}

/** go test -v: "--- PASS: TestX/sub (0.00s)" lines, and "ok"/"FAIL" package lines. */
export function parseGo(lines: string[]): ParsedTestOutput {
  const tests: TestCaseResult[] = [];
  let sinceLastPackage: TestCaseResult[] = [];
  let packages = 0;
  for (const line of lines) {
    const t = /^\s*--- (PASS|FAIL|SKIP): (\S+)(?: \([\d.]+s\))?/.exec(line);
    if (t) {
      const status: TestStatus = t[1] === 'PASS' ? 'passed' : t[1] === 'FAIL' ? 'failed' : 'skipped';
      const result = { id: t[2] ?? '', status };
      tests.push(result);
      sinceLastPackage.push(result);
      continue;
    }
    const ok = /^ok\s+(\S+)\s/.exec(line);
    const noTests = /^\?\s+(\S+)\s+\[no test files\]/.exec(line);
    const fail = /^FAIL\s+(\S+)(?:\s+\[([^\]]+)\]|\s+[\d.]+s)\s*$/.exec(line);
    if (ok || noTests) {
      packages++;
      sinceLastPackage = [];
    } else if (fail) {
      packages++;
      // A package that fails without a failing test (build error, panic, TestMain) is still a failure.
      if (!sinceLastPackage.some((r) => r.status === 'failed')) {
        tests.push({ id: `${fail[1] ?? ''} [${fail[2] ?? 'failed'}]`, status: 'failed' });
      }
      sinceLastPackage = [];
    }
  }
  if (tests.length === 0 && packages === 0) {
    return { counts: null, tests, reason: 'no go test results (--- PASS/FAIL or package ok/FAIL lines) found in output' };
  }
  return { counts: countTests(tests), tests };
}

/** cargo test: "test x ... ok" lines and the "test result:" line of each test binary, summed. */
export function parseCargo(lines: string[]): ParsedTestOutput {
  const tests: TestCaseResult[] = [];
  const total = counts(0, 0, 0);
  let results = 0;
  let file: string | undefined;
  for (const line of lines) {
    const running = /^\s*Running (?:unittests )?(\S+) \(/.exec(line);
    if (running) {
      file = running[1];
      continue;
    }
    if (/^\s*Doc-tests /.test(line)) {
      file = undefined;
      continue;
    }
    const t = /^test (.+?) \.\.\. (ok|FAILED|ignored)\b/.exec(line);
    if (t) {
      const status: TestStatus = t[2] === 'ok' ? 'passed' : t[2] === 'FAILED' ? 'failed' : 'skipped';
      tests.push({ id: t[1] ?? '', status, ...(file ? { file } : {}) });
      continue;
    }
    const r = /^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/.exec(line);
    if (r) {
      results++;
      total.passed += Number(r[1]);
      total.failed += Number(r[2]);
      total.skipped += Number(r[3]);
    }
  }
  if (results === 0) return { counts: null, tests, reason: 'no cargo "test result:" line found in output' };
  return { counts: total, tests };
}

/** A test method as surefire names it: JUnit 5 adds the parameter types and the invocation ("param(int)[1]"). */
const SUREFIRE_METHOD = String.raw`[\w$]+(?:\([^)]*\))?(?:\[[^\]]*\])*`;
// surefire 3: "com.example.AppTest.testBad -- Time elapsed: 0.01 s <<< FAILURE!", "com.example.AppTest.later skipped"
const SUREFIRE_TEST = new RegExp(String.raw`^([\w$]+(?:\.[\w$]+)*?)\.(${SUREFIRE_METHOD})(?:\s+--)?\s+(?:Time elapsed:|skipped\s*$)`);
// surefire 2: "testBad(com.example.AppTest)  Time elapsed: 0.01 sec  <<< FAILURE!", "later(com.example.AppTest) skipped"
const SUREFIRE_2_TEST = new RegExp(String.raw`^(${SUREFIRE_METHOD})\(([\w.$]+)\)\s+(?:Time elapsed:|skipped\s*$)`);

/**
 * maven surefire: "Tests run: N, Failures: F, Errors: E, Skipped: S" (the Results summaries, summed over modules).
 * Surefire lists failing tests; with -Dsurefire.reportFormat=plain (the detected command) passing and skipped ones too.
 */
export function parseMaven(lines: string[]): ParsedTestOutput {
  const byId = new Map<string, TestCaseResult>();
  const summaries = counts(0, 0, 0);
  const perClass = counts(0, 0, 0);
  let haveSummary = false;
  let haveClass = false;
  for (const raw of lines) {
    const line = raw.replace(/^\[(?:INFO|ERROR|WARNING|WARN)\]\s*/, '');
    const run = /^Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)(.*)$/.exec(line);
    if (run) {
      const [n, f, e, s] = [Number(run[1]), Number(run[2]), Number(run[3]), Number(run[4])];
      const target = /Time elapsed/.test(run[5] ?? '') ? perClass : summaries;
      if (target === perClass) haveClass = true;
      else haveSummary = true;
      target.passed += n - f - e - s;
      target.failed += f + e;
      target.skipped += s;
      continue;
    }
    const neu = SUREFIRE_TEST.exec(line);
    const old = neu ? null : SUREFIRE_2_TEST.exec(line);
    const id = neu ? `${neu[1]}.${neu[2]}` : old ? `${old[2]}.${old[1]}` : null;
    if (id) {
      const status: TestStatus = /<<< (FAILURE|ERROR)!/.test(line) ? 'failed' : /\sskipped\s*$/.test(line) ? 'skipped' : 'passed';
      byId.set(id, { id, status });
    }
  }
  const tests = [...byId.values()];
  if (haveSummary) return { counts: summaries, tests };
  if (haveClass) return { counts: perClass, tests };
  return { counts: null, tests, reason: 'no surefire "Tests run:" summary found in output' };
}

/** gradle: "3 tests completed, 1 failed" (printed when tests fail) and "Class > test() FAILED" lines. */
export function parseGradle(lines: string[]): ParsedTestOutput {
  const tests: TestCaseResult[] = [];
  let found: Map<string, number> | null = null;
  for (const line of lines) {
    const summary = /^\s*(\d+ tests? completed(?:, \d+ (?:failed|skipped))*)\s*$/.exec(line);
    if (summary) {
      found = tally(summary[1] ?? '');
      continue;
    }
    const t = /^(\S.*? > .+?) (PASSED|FAILED|SKIPPED)\s*$/.exec(line);
    if (t) tests.push({ id: t[1] ?? '', status: t[2] === 'PASSED' ? 'passed' : t[2] === 'FAILED' ? 'failed' : 'skipped' });
  }
  if (found) {
    const total = (found.get('tests') ?? 0) + (found.get('test') ?? 0);
    const failed = found.get('failed') ?? 0;
    const skipped = found.get('skipped') ?? 0;
    return { counts: counts(total - failed - skipped, failed, skipped), tests };
  }
  if (tests.length > 0) return { counts: countTests(tests), tests };
  return { counts: null, tests, reason: 'gradle prints test counts only when tests fail or with testLogging; none found in output' };
}
