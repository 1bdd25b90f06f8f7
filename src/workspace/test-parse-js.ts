/** Parsers for JavaScript runners: node:test (TAP and spec reporters), vitest, jest, mocha, bun. */
import type { TestCaseResult, TestCounts, TestStatus } from '../protocol/tests.js';
import { counts, NestedResults, tally, type ParsedTestOutput } from './test-parse-util.js';

const TAP_POINT = /^(\s*)(not ok|ok) \d+(?: - (.*?))?(?: # (SKIP|TODO)\b.*)?$/i;
const TAP_SUMMARY = /^# (pass|fail|skipped|todo|cancelled) (\d+)\s*$/;
const SPEC_LINE = /^(\s*)(✔|✖|﹣|▶) (.*?)(?: \([\d.]+m?s\))?(?: # (SKIP|TODO)\b.*)?$/;
const SPEC_SUMMARY = /^ℹ (pass|fail|skipped|todo|cancelled) (\d+)\s*$/;

function unescapeTap(name: string): string {
  return name.replace(/\\#/g, '#').replace(/\\\\/g, '\\');
}

/** node:test, TAP (Node 20 when stdout is not a terminal) or the spec reporter. */
export function parseNodeTest(lines: string[]): ParsedTestOutput {
  const tap = lines.some((l) => TAP_POINT.test(l) && /^\s*(not )?ok \d+/.test(l));
  return tap ? parseNodeTap(lines) : parseNodeSpec(lines);
}

function nodeCounts(found: Map<string, number>): TestCounts | null {
  if (!found.has('pass') && !found.has('fail')) return null;
  const get = (k: string): number => found.get(k) ?? 0;
  return counts(get('pass'), get('fail') + get('cancelled'), get('skipped') + get('todo'));
}

function parseNodeTap(lines: string[]): ParsedTestOutput {
  const nested = new NestedResults();
  const summary = new Map<string, number>();
  let yaml: string | null = null;
  let last: { level: number; id: string } | null = null;
  for (const line of lines) {
    const trimmed = line.trim();
    if (yaml !== null) {
      if (trimmed === '...') yaml = null;
      // Suites (describe) report like tests but are not counted as tests by node.
      else if (last && /^type: '?suite'?$/.test(trimmed)) nested.dropLast(last.level, last.id);
      continue;
    }
    if (trimmed === '---' && last) {
      yaml = '';
      continue;
    }
    const s = TAP_SUMMARY.exec(line);
    if (s) {
      summary.set(s[1] ?? '', (summary.get(s[1] ?? '') ?? 0) + Number(s[2]));
      continue;
    }
    const m = TAP_POINT.exec(line);
    if (!m) continue;
    const level = Math.floor((m[1] ?? '').length / 4);
    const id = unescapeTap(m[3] ?? '(unnamed)');
    const status: TestStatus = m[4] ? 'skipped' : m[2] === 'ok' ? 'passed' : 'failed';
    nested.add(level, { id, status });
    last = { level, id };
  }
  const c = nodeCounts(summary);
  return c ? { counts: c, tests: nested.results() } : { counts: null, tests: nested.results(), reason: 'no node:test summary (# pass / # fail) found in output' };
}

function parseNodeSpec(lines: string[]): ParsedTestOutput {
  const nested = new NestedResults();
  const summary = new Map<string, number>();
  for (const line of lines) {
    // The failures are listed again at the end; counting stops before them.
    if (/^✖ failing tests:/.test(line)) break;
    const s = SPEC_SUMMARY.exec(line);
    if (s) {
      summary.set(s[1] ?? '', (summary.get(s[1] ?? '') ?? 0) + Number(s[2]));
      continue;
    }
    const m = SPEC_LINE.exec(line);
    if (!m || m[2] === '▶') continue;
    const level = Math.floor((m[1] ?? '').length / 2);
    const status: TestStatus = m[4] || m[2] === '﹣' ? 'skipped' : m[2] === '✔' ? 'passed' : 'failed';
    nested.add(level, { id: m[3] ?? '(unnamed)', status });
  }
  const c = nodeCounts(summary);
  return c ? { counts: c, tests: nested.results() } : { counts: null, tests: nested.results(), reason: 'no node:test summary (ℹ pass / ℹ fail) found in output' };
}

const VITEST_SYMBOL: Record<string, TestStatus> = { '✓': 'passed', '√': 'passed', '×': 'failed', '✗': 'failed', '✕': 'failed', '↓': 'skipped' };
const DURATION_SUFFIX = /\s+\d+(?:\.\d+)?\s?m?s$/;

/** vitest: the "Tests  1 failed | 2 passed (3)" summary; per test from the verbose or tree reporter. */
export function parseVitest(lines: string[]): ParsedTestOutput {
  const tests: TestCaseResult[] = [];
  let found: Map<string, number> | null = null;
  let file: string | null = null;
  for (const line of lines) {
    const summary = /^\s*Tests\s{2,}(.*?\d+ (?:passed|failed|skipped|todo).*)$/.exec(line);
    if (summary) {
      found = tally(summary[1] ?? '');
      continue;
    }
    const m = /^\s*(✓|√|×|✗|✕|↓|❯)\s+(.+)$/.exec(line);
    if (!m) continue;
    const rest = (m[2] ?? '').trim();
    const header = /^(\S+)\s+\(\d+ tests?\b/.exec(rest);
    if (header) {
      file = header[1] ?? null;
      continue;
    }
    const status = VITEST_SYMBOL[m[1] ?? ''];
    if (!status) continue;
    const name = rest.replace(DURATION_SUFFIX, '');
    const id = name.includes(' > ') || !file ? name : `${file} > ${name}`;
    const testFile = id.split(' > ')[0];
    tests.push({ id, status, ...(testFile && /\.\w+$/.test(testFile) ? { file: testFile } : {}) });
  }
  if (!found) return { counts: null, tests, reason: 'no vitest "Tests" summary line found in output' };
  const get = (k: string): number => found.get(k) ?? 0;
  return { counts: counts(get('passed'), get('failed'), get('skipped') + get('todo')), tests };
}

/** jest: "Tests: 1 failed, 2 passed, 3 total"; per test from the verbose tree under PASS/FAIL headers. */
export function parseJest(lines: string[]): ParsedTestOutput {
  const tests: TestCaseResult[] = [];
  let found: Map<string, number> | null = null;
  let file: string | null = null;
  let groups: { indent: number; name: string }[] = [];
  for (const line of lines) {
    const summary = /^Tests:\s+(.*\d+ total.*)$/.exec(line);
    if (summary) {
      found = tally(summary[1] ?? '');
      continue;
    }
    const header = /^\s*(PASS|FAIL)\s+(\S+)/.exec(line);
    if (header) {
      file = header[2] ?? null;
      groups = [];
      continue;
    }
    if (!file) continue;
    if (/^\s*●/.test(line)) {
      file = null; // the failure details follow
      continue;
    }
    const m = /^(\s+)(✓|✕|○|✎|√|×)\s+(?:skipped |todo )?(.+?)(?:\s+\(\d+(?:\.\d+)?\s?m?s\))?$/.exec(line);
    const indent = line.length - line.trimStart().length;
    if (m) {
      groups = groups.filter((g) => g.indent < indent);
      const status: TestStatus = m[2] === '✓' || m[2] === '√' ? 'passed' : m[2] === '✕' || m[2] === '×' ? 'failed' : 'skipped';
      tests.push({ id: [file, ...groups.map((g) => g.name), m[3] ?? ''].join(' > '), status, file });
    } else if (line.trim() && indent > 0) {
      groups = groups.filter((g) => g.indent < indent);
      groups.push({ indent, name: line.trim() });
    }
  }
  if (!found) return { counts: null, tests, reason: 'no jest "Tests:" summary line found in output' };
  const get = (k: string): number => found.get(k) ?? 0;
  return { counts: counts(get('passed'), get('failed'), get('skipped') + get('todo')), tests };
}

/** mocha (spec reporter): "N passing / N failing / N pending". */
export function parseMocha(lines: string[]): ParsedTestOutput {
  const tests: TestCaseResult[] = [];
  const found = new Map<string, number>();
  let groups: { indent: number; name: string }[] = [];
  let inResults = true;
  for (const line of lines) {
    const summary = /^\s+(\d+) (passing|failing|pending)\b/.exec(line);
    if (summary) {
      found.set(summary[2] ?? '', Number(summary[1]));
      inResults = false; // failure details follow
      continue;
    }
    if (!inResults || !line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    const m = /^\s+(?:(✔|✓)|(\d+)\)|(-))\s+(.+?)(?:\s+\(\d+ms\))?$/.exec(line);
    groups = groups.filter((g) => g.indent < indent);
    if (m) {
      const status: TestStatus = m[1] ? 'passed' : m[2] ? 'failed' : 'skipped';
      tests.push({ id: [...groups.map((g) => g.name), m[4] ?? ''].join(' > '), status });
    } else if (indent > 0) {
      groups.push({ indent, name: line.trim() });
    }
  }
  if (!found.has('passing') && !found.has('failing')) return { counts: null, tests: [], reason: 'no mocha "N passing" summary found in output' };
  return { counts: counts(found.get('passing') ?? 0, found.get('failing') ?? 0, found.get('pending') ?? 0), tests };
}

const BUN_MARK: Record<string, TestStatus> = { '(pass)': 'passed', '✓': 'passed', '(fail)': 'failed', '✗': 'failed', '(skip)': 'skipped', '»': 'skipped', '(todo)': 'skipped', '✎': 'skipped' };

/**
 * bun test: a `path/to/file.test.ts:` line before each file's results, then one line a test, `(pass) suite > name
 * [0.04ms]` (`✓` and `✗` on a terminal); the summary is ` 3 pass`, ` 1 fail`, ` 1 skip`, ` 1 todo`, then `Ran 5
 * tests across 1 file.`
 */
export function parseBun(lines: string[]): ParsedTestOutput {
  const tests: TestCaseResult[] = [];
  const found = new Map<string, number>();
  let ran = false;
  let file: string | null = null;
  for (const line of lines) {
    const header = /^(\S+\.[cm]?[jt]sx?):$/.exec(line);
    if (header) {
      file = header[1] ?? null;
      continue;
    }
    const summary = /^\s*(\d+) (pass|fail|skip|todo)\s*$/.exec(line);
    if (summary) {
      found.set(summary[2] ?? '', Number(summary[1]));
      continue;
    }
    if (/^Ran \d+ tests? across \d+ files?\./.test(line)) {
      ran = true;
      continue;
    }
    const m = /^(\(pass\)|\(fail\)|\(skip\)|\(todo\)|✓|✗|»|✎) (.+?)(?: \[[\d.]+m?s\])?\s*$/.exec(line);
    const status = m ? BUN_MARK[m[1] ?? ''] : undefined;
    if (!m || !status) continue;
    const name = m[2] ?? '';
    tests.push({ id: file ? `${file} > ${name}` : name, status, ...(file ? { file } : {}) });
  }
  if (!ran || (!found.has('pass') && !found.has('fail'))) return { counts: null, tests, reason: 'no bun test summary (N pass / N fail, Ran N tests) found in output' };
  const get = (k: string): number => found.get(k) ?? 0;
  return { counts: counts(get('pass'), get('fail'), get('skip') + get('todo')), tests };
}

