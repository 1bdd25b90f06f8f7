/**
 * Rules as data and their evaluation: the rules of the action's kind are tried in order and the last one
 * whose pattern matches the subject decides; no match means ask.
 *
 * Reading a file is two steps: when a `read_secret` rule matches the path, the file is a secret file and the
 * last such rule decides (the defaults deny); otherwise the `read` rules decide. So `read_secret` rules name
 * secret files (and may un-name one: `{"kind": "read_secret", "pattern": ".env.example", "action": "allow"}`),
 * and a `read` rule never opens a secret file.
 */
import {
  PATH_KINDS,
  type PolicyAction,
  type PolicyDecision,
  type PolicyKind,
  type PolicyRule,
  type SourcedRule,
} from '../protocol/index.js';
import { globsOverlap, isCatchAll, matchGlob } from './rules-glob.js';

/** Files whose contents are secrets by default, at any folder depth. */
export const SECRET_FILE_PATTERNS = ['.env', '.env.*', '*.pem', '*.key', 'id_*'];

/**
 * `id_*` names private keys (id_rsa, id_ed25519, id_ecdsa_sk, ...), which have no extension; a name with one
 * (id_generator.js, id_rsa.pub) is code or a public key and is not a secret, except the key files' own copies
 * (id_rsa.bak, id_ed25519.old), which stay secret. Later rules win, so the order matters.
 */
const SECRET_FILE_EXCEPTIONS: ReadonlyArray<[string, PolicyAction]> = [
  ['id_*.*', 'allow'],
  ...['id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*'].map((p): [string, PolicyAction] => [p, 'deny']),
  ['id_*.pub', 'allow'],
];

const byDefault = (kind: PolicyKind, pattern: string, action: PolicyAction): SourcedRule => ({ kind, pattern, action, source: 'default' });

/** Reads, writes and commands in the clone are allowed; anything that leaves it asks or is denied. */
export const DEFAULT_RULES: readonly SourcedRule[] = [
  byDefault('read', '*', 'allow'),
  byDefault('write', '*', 'allow'),
  byDefault('exec', '*', 'allow'),
  byDefault('network', '*', 'ask'),
  byDefault('push', '*', 'ask'),
  byDefault('merge', '*', 'ask'),
  byDefault('deploy', '*', 'ask'),
  byDefault('rollback', '*', 'ask'),
  byDefault('write_outside', '*', 'deny'),
  ...SECRET_FILE_PATTERNS.map((pattern) => byDefault('read_secret', pattern, 'deny')),
  ...SECRET_FILE_EXCEPTIONS.map(([pattern, action]) => byDefault('read_secret', pattern, action)),
];

const STRICTNESS: Record<PolicyAction, number> = { allow: 0, ask: 1, deny: 2 };

function lastMatch(rules: readonly SourcedRule[], kind: PolicyKind, subject: string): SourcedRule | null {
  const pathGlob = PATH_KINDS.has(kind);
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (rule.kind === kind && matchGlob(rule.pattern, subject, pathGlob)) return rule;
  }
  return null;
}

/** The decision of the rules for one action (pure: nothing is reported). */
export function evaluateRules(rules: readonly SourcedRule[], kind: PolicyKind, subject: string): PolicyDecision {
  if (kind === 'read' || kind === 'read_secret') {
    // A read_secret rule that allows says "not a secret": the read rules then decide, as for any file.
    const secret = lastMatch(rules, 'read_secret', subject);
    if (secret && secret.action !== 'allow') return { kind, subject, action: secret.action, rule: secret, secret: true };
    const rule = lastMatch(rules, 'read', subject);
    return { kind, subject, action: rule?.action ?? 'ask', rule };
  }
  const rule = lastMatch(rules, kind, subject);
  return { kind, subject, action: rule?.action ?? 'ask', rule };
}

/**
 * The earlier rules that could decide some subject of `kind` before a new rule: those from the last rule
 * that matches everything on (no match means ask, so without such a rule an implicit `* ask` counts too).
 * `read_secret` has no implicit rule: a path no `read_secret` rule matches is decided by `read`.
 */
function liveRules(prior: readonly SourcedRule[], kind: PolicyKind): SourcedRule[] {
  const ofKind = prior.filter((r) => r.kind === kind);
  const pathGlob = PATH_KINDS.has(kind);
  let from = -1;
  ofKind.forEach((r, i) => {
    if (isCatchAll(r.pattern, pathGlob)) from = i;
  });
  if (from >= 0) return ofKind.slice(from);
  if (kind === 'read_secret') return ofKind;
  return [{ kind, pattern: '*', action: 'ask', source: 'default' }, ...ofKind];
}

/**
 * The earlier rule a new rule would loosen for some subject (allow where it was ask or deny, ask where it
 * was deny), or null when it only tightens or repeats. Conservative: an overlap with a stricter live rule
 * counts even where a later rule had already loosened that part.
 */
export function loosenedRule(rule: PolicyRule, prior: readonly SourcedRule[]): SourcedRule | null {
  const kinds: PolicyKind[] = rule.kind === 'read_secret' ? ['read_secret', 'read'] : [rule.kind];
  for (const kind of kinds) {
    for (const earlier of liveRules(prior, kind)) {
      if (STRICTNESS[earlier.action] <= STRICTNESS[rule.action]) continue;
      if (globsOverlap(earlier.pattern, rule.pattern, PATH_KINDS.has(kind))) return earlier;
    }
  }
  return null;
}
