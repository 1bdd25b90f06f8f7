/** Turn a test runner's output into counts and per-test results, without ever inventing numbers. */
import type { TestFramework } from '../protocol/tests.js';
import { parseBun, parseJest, parseMocha, parseNodeTest, parseVitest } from './test-parse-js.js';
import { stripAnsi } from './test-parse-util.js';
import { parseCargo, parseGo, parseGradle, parseMaven, parsePytest } from './test-parse-native.js';

export type { ParsedTestOutput } from './test-parse-util.js';
import type { ParsedTestOutput } from './test-parse-util.js';

type Parser = (lines: string[]) => ParsedTestOutput;

const PARSERS: Partial<Record<TestFramework, Parser>> = {
  'node-test': parseNodeTest,
  vitest: parseVitest,
  jest: parseJest,
  mocha: parseMocha,
  bun: parseBun,
  pytest: parsePytest,
  go: parseGo,
  cargo: parseCargo,
  maven: parseMaven,
  gradle: parseGradle,
};

/** Tried in this order when the framework is unknown (a Makefile, a custom script). */
const AUTO_ORDER: TestFramework[] = ['pytest', 'cargo', 'go', 'node-test', 'vitest', 'jest', 'mocha', 'bun', 'maven', 'gradle'];

export function parseTestOutput(framework: TestFramework, output: string): ParsedTestOutput {
  const lines = stripAnsi(output).replace(/\r\n?/g, '\n').split('\n');
  const parser = PARSERS[framework];
  const direct = parser?.(lines);
  if (direct?.counts) return direct;
  // A script named after one runner may well run another; the summary lines are specific enough.
  for (const name of AUTO_ORDER) {
    if (name === framework) continue;
    const other = PARSERS[name]?.(lines);
    if (other?.counts) return other;
  }
  if (direct) return direct;
  return { counts: null, tests: [], reason: `no test summary of a known runner found in output (framework ${framework})` };
}

