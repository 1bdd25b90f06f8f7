/** A Go instance whose module dependency is downloaded through the sandbox; subtests judged by name. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InstanceResult } from '../../../src/eval/result.js';
import { removeDir } from '../../support/repos.js';
import { evalOne, fileDiff, GO_FILES, GO_TEST_FIXED, goScript, type SingleEval } from './fixtures.js';

let run: SingleEval & { repo: string };

beforeAll(async () => {
  run = await evalOne(
    'clamp',
    GO_FILES,
    {
      instance_id: 'clamp-above',
      problem_statement: 'Clamp(20, 1, 9) returns 20; it should return 9.',
      test_patch: fileDiff('clamp_test.go', GO_FILES['clamp_test.go']!, GO_TEST_FIXED),
      FAIL_TO_PASS: ['TestClamp/above'],
      PASS_TO_PASS: ['TestClamp/inside', 'TestBelow'],
      // From the module proxy, in the sandbox with network; -modcacherw keeps the module cache removable.
      setup_cmd: 'GOFLAGS=-modcacherw go mod download',
      test_cmd: 'go test -v -vet=off ./...',
    },
    goScript,
  );
}, 160_000);

afterAll(() => {
  if (run) removeDir(run.work);
  if (run) removeDir(run.repo);
});

it('resolves a Go instance with a module dependency', () => {
  expect(run.result.code, run.result.stderr).toBe(0);
  const r = JSON.parse(readFileSync(path.join(run.out, 'clamp-above', 'result.json'), 'utf8')) as InstanceResult;
  expect(r, JSON.stringify(r)).toMatchObject({
    status: 'resolved',
    run: { status: 'pr_open' },
    slipway_tests: { proven: false, new_tests: [] },
    tests: { command: 'go test -v -vet=off ./...', fail_to_pass: { passed: ['TestClamp/above'] }, pass_to_pass: { passed: ['TestClamp/inside', 'TestBelow'] } },
  });
  expect(r.model_patch).toContain('+\t\treturn hi');
  expect(run.result.stdout).toContain('resolved 1/1 (100.0%)');
});
