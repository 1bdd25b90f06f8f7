/** Shared pieces of the test output parsers. */
import type { TestCaseResult, TestCounts } from '../protocol/tests.js';

export interface ParsedTestOutput {
  /** null when no summary could be found; `reason` then says why. */
  counts: TestCounts | null;
  tests: TestCaseResult[];
  reason?: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export function counts(passed: number, failed: number, skipped: number): TestCounts {
  return { passed, failed, skipped };
}

/** Counts from per-test results, for runners that print no summary (go test). */
export function countTests(tests: TestCaseResult[]): TestCounts {
  const c = counts(0, 0, 0);
  for (const t of tests) c[t.status]++;
  return c;
}

/**
 * Builds ids for runners that print children before their parent's result line (node:test), by
 * indentation level: a result at level L adopts the results gathered at level L+1.
 */
export class NestedResults {
  private readonly pending = new Map<number, TestCaseResult[]>();

  add(level: number, result: TestCaseResult, opts: { keepSelf?: boolean } = {}): void {
    const children: TestCaseResult[] = [];
    for (const [l, list] of [...this.pending.entries()].sort((a, b) => a[0] - b[0])) {
      if (l > level) {
        children.push(...list);
        this.pending.delete(l);
      }
    }
    const here = this.pending.get(level) ?? [];
    here.push(...children.map((c) => ({ ...c, id: `${result.id} > ${c.id}` })));
    if (opts.keepSelf !== false) here.push(result);
    this.pending.set(level, here);
  }

  /** Drop the most recent result at `level` (a suite, which runners do not count as a test). */
  dropLast(level: number, id: string): void {
    const here = this.pending.get(level);
    if (here && here[here.length - 1]?.id === id) here.pop();
  }

  results(): TestCaseResult[] {
    return [...this.pending.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, list]) => list);
  }
}

/** Adds up "N word" pairs ("3 passed, 1 failed", "1 failed | 2 passed"). */
export function tally(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const m of text.matchAll(/(\d+) ([a-z]+)/gi)) {
    const word = (m[2] ?? '').toLowerCase();
    found.set(word, (found.get(word) ?? 0) + Number(m[1]));
  }
  return found;
}
