/** The effective policy of a run: the defaults, then the repository's rules (tightening only), then the user's. */
import type { PolicyCheck, PolicyDecision, PolicyKind, PolicyLayers, PolicyRule, SourcedRule } from '../protocol/index.js';
import { DEFAULT_RULES, evaluateRules, loosenedRule } from './rules.js';

/** A repository rule that was dropped because it would loosen the policy. */
export interface RejectedRule extends PolicyRule {
  source: 'repository';
  reason: string;
}

/** Called when check() refuses an action: deny, or ask while nobody can be asked yet. */
export type DeniedListener = (kind: PolicyKind, subject: string, rule: SourcedRule | null, decision: PolicyDecision) => void;

export class Policy implements PolicyCheck {
  /** Set by whoever records decisions (the ledger); tools only see the answer. */
  onDenied?: DeniedListener;

  constructor(
    readonly rules: readonly SourcedRule[],
    readonly rejected: readonly RejectedRule[] = [],
  ) {}

  evaluate(kind: PolicyKind, subject: string): PolicyDecision {
    return evaluateRules(this.rules, kind, subject);
  }

  check(kind: PolicyKind, subject: string): PolicyDecision {
    const decision = this.evaluate(kind, subject);
    if (decision.action !== 'allow') this.onDenied?.(kind, subject, decision.rule, decision);
    return decision;
  }

  /** Whether the sandbox must hide a file (path relative to the clone): anything reads may not simply do. */
  readonly masks = (relativePath: string): boolean => this.evaluate('read', relativePath).action !== 'allow';
}

/** Layers the rules; a repository rule that would loosen what came before it is dropped, with the reason. */
export function buildPolicy(layers: Partial<PolicyLayers> = {}): Policy {
  const rules: SourcedRule[] = [...DEFAULT_RULES];
  const rejected: RejectedRule[] = [];
  for (const rule of layers.repository ?? []) {
    const loosened = loosenedRule(rule, rules);
    if (loosened) {
      rejected.push({
        ...rule,
        source: 'repository',
        reason: `a repository may only tighten the policy; this would loosen ${loosened.kind} \`${loosened.pattern}\` ${loosened.action} (${loosened.source}) to ${rule.action}. Put it in $SLIPWAY_HOME/config.json to loosen it for yourself.`,
      });
    } else {
      rules.push({ ...rule, source: 'repository' });
    }
  }
  for (const rule of layers.user ?? []) rules.push({ ...rule, source: 'user' });
  return new Policy(rules, rejected);
}
