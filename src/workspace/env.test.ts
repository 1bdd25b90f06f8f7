import { describe, expect, it } from 'vitest';
import { isSecretVariable, stripEnv } from './env.js';

describe('stripEnv', () => {
  const env = {
    PATH: '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    LC_ALL: 'C',
    TERM: 'xterm',
    TZ: 'UTC',
    CARGO_HOME: '/home/u/.cargo',
    PYENV_ROOT: '/home/u/.pyenv',
    HOME: '/home/u',
    SHELL: '/bin/bash',
    EDITOR: 'vim',
    FAKE_API_KEY: 'sk-canary',
    ANTHROPIC_API_KEY: 'sk-ant',
    OPENAI_BASE_URL: 'https://x',
    AWS_REGION: 'eu-west-1',
    GITHUB_TOKEN: 'ghp',
    NPM_TOKEN: 'npm',
    SSH_AUTH_SOCK: '/run/ssh',
    UNSET: undefined,
  };

  it('keeps the allowlist only', () => {
    expect(stripEnv(env)).toEqual({
      PATH: '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      LC_ALL: 'C',
      TERM: 'xterm',
      TZ: 'UTC',
      CARGO_HOME: '/home/u/.cargo',
      PYENV_ROOT: '/home/u/.pyenv',
    });
  });

  it('lets extra variables through unless they look like secrets', () => {
    const out = stripEnv({}, { CI: '1', PYTEST_ADDOPTS: '-x', DB_PASSWORD: 'p', MY_SESSION_ID: 's', GH_ENTERPRISE: 'x', URL: 'https://u:p@example.com/' });
    expect(out).toEqual({ CI: '1', PYTEST_ADDOPTS: '-x' });
  });

  it('recognises secret names, vendor prefixes and URLs with credentials', () => {
    for (const name of ['API_KEY', 'my_token', 'CLIENT_SECRET', 'PGPASSWORD', 'AUTH_HEADER', 'COOKIE_JAR', 'AWS_REGION', 'OPENAI_ORG', 'SSH_AGENT_PID']) {
      expect(isSecretVariable(name, 'x')).toBe(true);
    }
    expect(isSecretVariable('REDIS', 'redis://user:pw@host:6379')).toBe(true);
    expect(isSecretVariable('PATH', '/usr/bin')).toBe(false);
    expect(isSecretVariable('HOMEPAGE', 'https://example.com/')).toBe(false);
  });
});
