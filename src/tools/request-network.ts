import { z } from 'zod';
import { describeRule } from '../protocol/index.js';
import { defineTool, ToolInputError } from './define.js';
import description from './request-network.md?raw';

/** A DNS name or an IPv4 address, without scheme, port, path or credentials. */
const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const requestNetworkTool = defineTool({
  name: 'request_network',
  kind: 'exec',
  description,
  params: z.object({
    host: z.string().min(1).describe('The host name, e.g. api.example.com'),
    port: z.number().int().min(1).max(65535).optional().describe('The port (default 443)'),
    reason: z.string().min(1).describe('Why the task needs it, in a sentence a person can judge'),
  }),
  async execute({ host, port, reason }, ctx) {
    const name = host.trim().toLowerCase();
    if (!HOST.test(name)) {
      throw new ToolInputError(`"${host}" is not a host name. Give the name alone, like registry.example.com: no scheme, port, path or user.`);
    }
    const target = `${name}:${port ?? 443}`;
    if (!ctx.network) {
      return { forModel: `This run cannot give your commands network access, so ${target} stays unreachable. Do without it.`, display: `network to ${target}: not available`, isError: true };
    }
    const verdict = ctx.network.evaluate(name, port ?? 443);
    if (verdict.action === 'deny') {
      return { forModel: `Network access to ${target} is denied (policy: ${describeRule(verdict.rule)}). Do without it or choose another way.`, display: `network to ${target} denied`, isError: true };
    }
    if (verdict.action === 'ask') {
      if (!ctx.ask) {
        return { forModel: `Network access to ${target} needs a person's approval (policy: ${describeRule(verdict.rule)}), and this run cannot ask for one. Do without it.`, display: `network to ${target}: cannot ask`, isError: true };
      }
      const answer = await ctx.ask({ kind: 'network', subject: target, shown: `${target} (${reason.trim().slice(0, 300)})`, rule: describeRule(verdict.rule) });
      if (!answer.approved) {
        return { forModel: `A person refused network access to ${target}. Their reason: ${answer.reason}. Do without it or choose another way.`, display: `network to ${target} refused by a person`, isError: true };
      }
    }
    if (!(await ctx.network.grant(name, port ?? 443))) {
      return { forModel: `This run cannot give your commands network access (no sandbox), so ${target} stays unreachable.`, display: `network to ${target}: not available`, isError: true };
    }
    return {
      forModel: `Granted: your shell commands can now reach ${target} for the rest of this run, through the proxy HTTPS_PROXY and HTTP_PROXY point to (tools that ignore those variables cannot connect). Other hosts stay unreachable; the test command runs without network.`,
      display: `network to ${target} granted`,
    };
  },
});
