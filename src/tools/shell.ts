import { z } from 'zod';
import { defineTool } from './define.js';
import { requireAllowed } from './policy-guard.js';
import description from './shell.md?raw';

export const shellTool = defineTool({
  name: 'shell',
  kind: 'exec',
  description,
  params: z.object({
    command: z.string().min(1).describe('The command line'),
    timeout_seconds: z.number().int().min(1).max(1800).optional().describe('Time limit (default: the configured one)'),
  }),
  async execute({ command, timeout_seconds }, ctx) {
    await requireAllowed(ctx, 'exec', [command], `\`${command.split('\n')[0]!.slice(0, 200)}\``);
    const timeoutMs = timeout_seconds ? Math.min(timeout_seconds * 1000, ctx.commandTimeoutMs) : ctx.commandTimeoutMs;
    const result = await ctx.runner.run(command, { cwd: ctx.root, timeoutMs, signal: ctx.signal });
    const status = result.timedOut
      ? `timed out after ${Math.round(timeoutMs / 1000)}s (killed)`
      : result.signal
        ? `killed by ${result.signal}`
        : `exit code ${result.exitCode}`;
    return {
      forModel: `${status}\n${result.output || '(no output)'}`,
      display: `$ ${command.split('\n')[0]!.slice(0, 80)} → ${status}`,
      isError: result.exitCode !== 0,
    };
  },
});
