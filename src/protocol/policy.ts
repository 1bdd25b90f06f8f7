/**
 * Policy as data: what the agent may do, as rules `{kind, pattern, action}`. The rules and their evaluation
 * live in src/policy; this file holds the types, the config schema and the port tools consult.
 */
import { z } from 'zod';

/** What an action touches; the pattern of a rule is matched against the action's subject. */
export const POLICY_KINDS = [
  'read', // a file in the clone (subject: its path)
  'write', // a file in the clone (subject: its path)
  'exec', // a command in the sandbox (subject: the command line)
  'network', // a connection from the sandbox (subject: the host)
  'push', // subject: the branch
  'merge', // subject: the branch
  'deploy', // subject: the target
  'rollback', // subject: the target
  'write_outside', // a file outside the clone (subject: its path)
  'read_secret', // a secret file (subject: its path): see the two-step read below
] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** Kinds whose subject is a file path: `*` and `?` stop at `/`, and a pattern without `/` matches at any depth. */
export const PATH_KINDS: ReadonlySet<PolicyKind> = new Set<PolicyKind>(['read', 'write', 'write_outside', 'read_secret']);

export const POLICY_ACTIONS = ['allow', 'ask', 'deny'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

export const policyRuleSchema = z
  .object({
    kind: z.enum(POLICY_KINDS).describe('What the action touches'),
    pattern: z.string().min(1).default('*').describe('Glob over the subject (*, **, ?); default: everything'),
    action: z.enum(POLICY_ACTIONS).describe('allow, ask (a person approves) or deny'),
  })
  .strict();
export type PolicyRule = z.output<typeof policyRuleSchema>;

export const policyRulesSchema = z.array(policyRuleSchema);

/** Where a rule came from, in the order the layers apply. */
export type RuleSource = 'default' | 'repository' | 'user';

export interface SourcedRule extends PolicyRule {
  source: RuleSource;
}

/** The rules of the configurable layers, kept apart so the repository's can only tighten. */
export interface PolicyLayers {
  repository: PolicyRule[];
  user: PolicyRule[];
}

/** The answer for one action. `rule` is null when no rule matched (the answer is then `ask`). */
export interface PolicyDecision {
  kind: PolicyKind;
  subject: string;
  action: PolicyAction;
  rule: SourcedRule | null;
  /** For reads: the path is a secret file (a `read_secret` rule decided). */
  secret?: boolean;
}

/**
 * The port tools consult before they act. `check` reports refusals (deny, or ask where nobody can be asked)
 * to whoever listens; `evaluate` only answers (for bulk questions such as which files the sandbox masks).
 */
export interface PolicyCheck {
  check(kind: PolicyKind, subject: string): PolicyDecision;
  evaluate(kind: PolicyKind, subject: string): PolicyDecision;
}

/** `read_secret .env deny (default)`: how a rule is named in messages. */
export function describeRule(rule: SourcedRule | null): string {
  return rule ? `${rule.kind} \`${rule.pattern}\` ${rule.action}, from ${rule.source}` : 'no rule matched, so a person must approve';
}
