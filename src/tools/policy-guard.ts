/** How tools ask the policy before they act; a refusal goes back to the model as an error it can act on. */
import path from 'node:path';
import { describeRule, type PolicyDecision, type PolicyKind } from '../protocol/index.js';
import { ToolInputError, type ToolContext } from './define.js';

/**
 * Throws a ToolInputError unless the policy allows `kind` on every subject (a path is checked as the model
 * wrote it and as it resolved, so neither a link nor `..` gets past a rule). An `ask` goes to a person
 * through `ctx.ask` when the run can ask (a gate), and is refused when it cannot. No policy: all allowed.
 */
export async function requireAllowed(ctx: ToolContext, kind: PolicyKind, subjects: string[], shown: string): Promise<void> {
  if (!ctx.policy) return;
  for (const subject of new Set(subjects)) {
    const decision = ctx.ask ? ctx.policy.evaluate(kind, subject) : ctx.policy.check(kind, subject);
    if (decision.action === 'allow') continue;
    if (decision.action === 'ask' && ctx.ask && !decision.secret) {
      const answer = await ctx.ask({ kind, subject, shown, rule: describeRule(decision.rule) });
      if (answer.approved) continue;
      throw new ToolInputError(`A person refused: ${verb(kind).toLowerCase()} ${shown}. Their reason: ${answer.reason}. Do without it or choose another way.`);
    }
    if (ctx.ask) ctx.policy.check(kind, subject); // on the record, like every refusal
    throw new ToolInputError(refusal(decision, shown));
  }
}

/** The paths of a file to check: as requested (lexically, inside the clone) and as resolved. */
export function pathSubjects(root: string, requested: string, resolved: string): string[] {
  return [path.relative(root, path.resolve(root, requested)), path.relative(root, resolved)];
}

/** Whether a search or listing may show this file (relative path); nothing is reported. */
export function mayShow(ctx: ToolContext, relativePath: string): boolean {
  return !ctx.policy || ctx.policy.evaluate('read', relativePath).action === 'allow';
}

function refusal(d: PolicyDecision, shown: string): string {
  const why = `(policy: ${describeRule(d.rule)})`;
  if (d.action === 'ask') {
    return `${verb(d.kind)} ${shown} needs a person's approval ${why}, and this run cannot ask for one. Do without it or choose another way.`;
  }
  if (d.secret) {
    return `${shown} is a secret file and cannot be read ${why}. Work without its contents; if the task needs a value from it, say so in your summary.`;
  }
  return `${verb(d.kind)} ${shown} is denied ${why}. Do without it or choose another way.`;
}

function verb(kind: PolicyKind): string {
  switch (kind) {
    case 'read':
    case 'read_secret':
      return 'Reading';
    case 'write':
      return 'Writing';
    case 'exec':
      return 'Running';
    default:
      return kind;
  }
}
