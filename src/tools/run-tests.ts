import { z } from 'zod';
import { defineTool } from './define.js';
import description from './run-tests.md?raw';

export const runTestsTool = defineTool({
  name: 'run_tests',
  kind: 'exec',
  description,
  params: z.object({}),
  async execute(_args, ctx) {
    if (!ctx.runTests) {
      return {
        forModel: 'No test command was found for this repository. Use shell to run the tests you need.',
        display: 'run_tests: no test command',
        isError: true,
      };
    }
    const r = await ctx.runTests();
    const counts = r.counts
      ? `${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.skipped} skipped`
      : `results could not be parsed (${r.reason ?? 'unknown reason'})`;
    const failing = r.tests.filter((t) => t.status === 'failed').map((t) => `  - ${t.id}`);
    const head = `$ ${r.command}\n${r.timedOut ? 'timed out' : `exit code ${r.exitCode}`}; ${counts}`;
    const failures = failing.length ? `\nFailing tests:\n${failing.join('\n')}` : '';
    return {
      forModel: `${head}${failures}\n--- output ---\n${r.output}`,
      display: `run_tests → ${counts}`,
      isError: r.exitCode !== 0,
    };
  },
});
