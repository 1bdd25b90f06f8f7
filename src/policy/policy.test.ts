import { describe, expect, it } from 'vitest';
import { configSchema, mergeConfigLayers, type PolicyKind, type PolicyRule, type SourcedRule } from '../protocol/index.js';
import { buildPolicy } from './policy.js';
import { DEFAULT_RULES, evaluateRules, loosenedRule } from './rules.js';

const rule = (kind: PolicyKind, pattern: string, action: PolicyRule['action']): PolicyRule => ({ kind, pattern, action });

describe('evaluation', () => {
  it('has safe defaults', () => {
    const p = buildPolicy();
    const action = (kind: PolicyKind, subject: string) => p.evaluate(kind, subject).action;
    expect(action('read', 'src/index.ts')).toBe('allow');
    expect(action('write', 'src/index.ts')).toBe('allow');
    expect(action('exec', 'npm test')).toBe('allow');
    for (const kind of ['network', 'push', 'merge', 'deploy', 'rollback'] as const) expect(action(kind, 'anything')).toBe('ask');
    expect(action('write_outside', '/home/me/.bashrc')).toBe('deny');
    for (const file of ['.env', 'api/.env', '.env.production', 'deploy/server.pem', 'tls/site.key', 'home/.ssh/id_ed25519', 'id_ecdsa_sk', 'keys/id_deploy', 'id_rsa.bak', 'id_ed25519.old']) {
      const d = p.evaluate('read', file);
      expect(d, file).toMatchObject({ action: 'deny', secret: true, rule: { kind: 'read_secret', source: 'default' } });
    }
    // Names that only look alike stay readable.
    for (const file of ['src/env.ts', 'id_generator.js', 'src/id_utils.py', 'id_rsa.pub', 'home/.ssh/id_ed25519.pub', 'keys.ts', '.envrc']) expect(action('read', file), file).toBe('allow');
  });

  it('lets the last matching rule win, and asks when none matches', () => {
    const rules: SourcedRule[] = [
      { kind: 'exec', pattern: '*', action: 'allow', source: 'default' },
      { kind: 'exec', pattern: 'curl *', action: 'deny', source: 'user' },
      { kind: 'exec', pattern: 'curl localhost*', action: 'allow', source: 'user' },
    ];
    expect(evaluateRules(rules, 'exec', 'curl example.com').action).toBe('deny');
    expect(evaluateRules(rules, 'exec', 'curl localhost:8080').action).toBe('allow');
    expect(evaluateRules(rules, 'exec', 'ls').action).toBe('allow');
    expect(evaluateRules(rules, 'network', 'example.com')).toMatchObject({ action: 'ask', rule: null });
  });

  it('decides a secret file by read_secret rules only, other files by read rules', () => {
    const p = buildPolicy({
      user: [rule('read', '*', 'allow'), rule('read_secret', '.env.example', 'allow'), rule('read', 'private/', 'deny')],
    });
    expect(p.evaluate('read', '.env').action).toBe('deny'); // a read rule does not open a secret
    expect(p.evaluate('read', 'web/.env.example')).toMatchObject({ action: 'allow', rule: { kind: 'read', source: 'user' } });
    expect(p.evaluate('read', 'web/.env.example').secret).toBeUndefined();
    // Un-secreting a file hands it to the read rules, which may still refuse it.
    const strict = buildPolicy({ user: [rule('read_secret', '.env.example', 'allow'), rule('read', 'web/', 'deny')] });
    expect(strict.evaluate('read', 'web/.env.example')).toMatchObject({ action: 'deny', rule: { kind: 'read', pattern: 'web/' } });
    expect(p.evaluate('read', 'private/notes.md')).toMatchObject({ action: 'deny', rule: { source: 'user' } });
    expect(p.masks('private/notes.md')).toBe(true);
    expect(p.masks('.env')).toBe(true);
    expect(p.masks('src/a.ts')).toBe(false);
  });

  it('reports refusals through onDenied from check(), never from evaluate()', () => {
    const p = buildPolicy();
    const seen: string[] = [];
    p.onDenied = (kind, subject, r) => seen.push(`${kind} ${subject} ${r?.pattern ?? '-'} ${r?.action ?? 'ask'}`);
    p.evaluate('read', '.env');
    p.check('read', 'src/a.ts');
    p.check('read', 'config/.env');
    p.check('deploy', 'production');
    expect(seen).toEqual(['read config/.env .env deny', 'deploy production * ask']);
  });
});

describe('layers', () => {
  it('keeps repository rules that tighten', () => {
    const p = buildPolicy({ repository: [rule('exec', 'curl *', 'deny'), rule('read_secret', 'config/credentials.yml', 'deny'), rule('network', 'registry.npmjs.org', 'ask')] });
    expect(p.rejected).toEqual([]);
    expect(p.evaluate('exec', 'curl evil.example')).toMatchObject({ action: 'deny', rule: { source: 'repository' } });
    expect(p.evaluate('read', 'config/credentials.yml')).toMatchObject({ action: 'deny', secret: true });
    expect(p.rules.slice(0, DEFAULT_RULES.length)).toEqual(DEFAULT_RULES);
  });

  it('drops repository rules that would loosen, and says which rule they would loosen', () => {
    const p = buildPolicy({
      repository: [
        rule('write_outside', '*', 'allow'),
        rule('read_secret', '.env', 'allow'),
        rule('merge', 'main', 'allow'),
        rule('network', '*', 'allow'),
        rule('exec', 'rm -rf *', 'deny'),
        rule('exec', 'rm -rf ./build', 'allow'), // loosens the repository's own deny just above
        rule('read', '.env', 'allow'), // repeats read's allow; secrets are decided by read_secret anyway
      ],
    });
    expect(p.rejected.map((r) => `${r.kind} ${r.pattern}`)).toEqual([
      'write_outside *',
      'read_secret .env',
      'merge main',
      'network *',
      'exec rm -rf ./build',
    ]);
    expect(p.rejected[0]!.reason).toMatch(/would loosen write_outside `\*` deny \(default\) to allow/);
    expect(p.evaluate('write_outside', '/etc/passwd').action).toBe('deny');
    expect(p.evaluate('read', '.env').action).toBe('deny');
    expect(p.evaluate('merge', 'main').action).toBe('ask');
    expect(p.evaluate('exec', 'rm -rf ./build').action).toBe('deny');
  });

  it('counts "no match means ask" as a rule a repository cannot loosen', () => {
    const withoutDeploy = DEFAULT_RULES.filter((r) => r.kind !== 'deploy');
    expect(evaluateRules(withoutDeploy, 'deploy', 'staging').action).toBe('ask');
    expect(loosenedRule(rule('deploy', 'staging', 'allow'), withoutDeploy)).toMatchObject({ pattern: '*', action: 'ask' });
    expect(loosenedRule(rule('deploy', 'staging', 'deny'), withoutDeploy)).toBeNull();
    const p = buildPolicy({ repository: [rule('deploy', 'staging', 'deny'), rule('deploy', 'staging', 'ask')] });
    expect(p.rejected.map((r) => r.action)).toEqual(['ask']);
  });

  it('lets the user loosen and tighten, after the repository', () => {
    const p = buildPolicy({
      repository: [rule('exec', 'npm publish*', 'deny')],
      user: [rule('merge', 'main', 'allow'), rule('exec', 'npm publish --dry-run', 'allow'), rule('exec', 'sudo *', 'deny'), rule('write_outside', '/tmp/shared/**', 'allow')],
    });
    expect(p.rejected).toEqual([]);
    expect(p.evaluate('merge', 'main')).toMatchObject({ action: 'allow', rule: { source: 'user' } });
    expect(p.evaluate('exec', 'npm publish --dry-run').action).toBe('allow');
    expect(p.evaluate('exec', 'npm publish').action).toBe('deny');
    expect(p.evaluate('exec', 'sudo ls').action).toBe('deny');
    expect(p.evaluate('write_outside', '/tmp/shared/a/b').action).toBe('allow');
    expect(p.evaluate('write_outside', '/tmp/other').action).toBe('deny');
  });
});

describe('config', () => {
  it('accepts policy rules with a default pattern and refuses unknown kinds and actions', () => {
    const parsed = configSchema.parse({ policy: [{ kind: 'network', action: 'deny' }] });
    expect(parsed.policy).toEqual([{ kind: 'network', pattern: '*', action: 'deny' }]);
    expect(configSchema.safeParse({ policy: [{ kind: 'sudo', action: 'allow' }] }).success).toBe(false);
    expect(configSchema.safeParse({ policy: [{ kind: 'read', action: 'maybe' }] }).success).toBe(false);
    expect(configSchema.safeParse({ policy: [{ kind: 'read', action: 'deny', extra: 1 }] }).success).toBe(false);
  });

  it('keeps each layer under its source', () => {
    const config = mergeConfigLayers({
      repository: { policy: [rule('write_outside', '*', 'allow')], verifyRounds: 2 },
      user: { policy: [rule('merge', '*', 'allow')] },
    });
    expect(config.verifyRounds).toBe(2);
    expect(config.policy).toEqual({ repository: [rule('write_outside', '*', 'allow')], user: [rule('merge', '*', 'allow')] });
    expect(buildPolicy(config.policy).rejected).toHaveLength(1);
  });
});
