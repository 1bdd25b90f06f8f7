/** A Python instance whose dependency is installed from the package index through the sandbox (setup_cmd). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InstanceResult } from '../../../src/eval/result.js';
import { removeDir } from '../../support/repos.js';
import { evalOne, fileDiff, PY_FILES, PY_TEST_FIXED, pyScript, type SingleEval } from './fixtures.js';

let run: SingleEval & { repo: string };

/**
 * The sandbox keeps neither PIP_CERT nor /etc/pip.conf: behind a TLS-inspecting proxy whose CA only the
 * host's pip is told about, name that bundle (when the sandbox can see it) on the command line.
 */
const hostCert = process.env.PIP_CERT ?? '';
const certFlag = /^\/(etc|usr)\/[\w./-]+$/.test(hostCert) ? ` --cert ${hostCert}` : '';

beforeAll(async () => {
  run = await evalOne(
    'chunks',
    PY_FILES,
    {
      instance_id: 'chunks-last',
      problem_statement: 'chunk([1, 2, 3], 2) loses the 3: the last, shorter chunk is dropped.',
      test_patch: fileDiff('tests/test_core.py', PY_FILES['tests/test_core.py']!, PY_TEST_FIXED),
      FAIL_TO_PASS: '["tests/test_core.py::test_keeps_the_last_chunk"]',
      PASS_TO_PASS: '["tests/test_core.py::test_empty"]',
      // toolz is not in the toolchain's site-packages: it must come from the index, with network, in the sandbox.
      setup_cmd: `python3 -m venv --system-site-packages .venv && .venv/bin/pip install --quiet${certFlag} toolz`,
      test_cmd: '.venv/bin/python -m pytest -rA -p no:cacheprovider',
    },
    pyScript,
  );
}, 160_000);

afterAll(() => {
  if (run) removeDir(run.work);
  if (run) removeDir(run.repo);
});

it('resolves a pytest instance whose dependency is installed by setup_cmd', () => {
  expect(run.result.code, run.result.stderr).toBe(0);
  const r = JSON.parse(readFileSync(path.join(run.out, 'chunks-last', 'result.json'), 'utf8')) as InstanceResult;
  expect(r, JSON.stringify(r)).toMatchObject({
    status: 'resolved',
    run: { status: 'pr_open' },
    tests: {
      fail_to_pass: { passed: ['tests/test_core.py::test_keeps_the_last_chunk'], failed: [] },
      pass_to_pass: { passed: ['tests/test_core.py::test_empty'], failed: [] },
    },
  });
  // The virtualenv the setup made is not part of the agent's change.
  expect(r.model_patch).not.toContain('.venv');
  expect(r.model_patch).toContain('chunks/core.py');
});
