/** The environment a sandboxed command sees: an allowlist, minus anything that looks like a secret. */

export type Env = Record<string, string | undefined>;

/** Passed through when present: locale, terminal and the toolchain locations. */
const ALLOWED = new Set([
  'PATH',
  'LANG',
  'LANGUAGE',
  'TERM',
  'TZ',
  'COLORTERM',
  'NO_COLOR',
  'FORCE_COLOR',
  'PYENV_ROOT',
  'PYENV_VERSION',
  'CARGO_HOME',
  'RUSTUP_HOME',
  'RUSTUP_TOOLCHAIN',
  'GOPATH',
  'GOROOT',
  'GOMODCACHE',
  'JAVA_HOME',
  'MAVEN_HOME',
  'M2_HOME',
  'GRADLE_HOME',
  'NVM_DIR',
  'NVM_BIN',
  'SDKMAN_DIR',
  // Where the machine's CA bundle is: package managers behind a TLS-inspecting proxy need it. Paths, not secrets.
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'PIP_CERT',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'NODE_EXTRA_CA_CERTS',
]);

const ALLOWED_PREFIXES = ['LC_'];

/** Names that suggest a credential, whatever the prefix. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|CERT_PASS/i;

/** Vendors whose variables are credentials or point at them. */
const SECRET_PREFIXES = [
  'AWS_',
  'AZURE_',
  'GOOGLE_',
  'GCP_',
  'GCLOUD_',
  'CLOUDSDK_',
  'GITHUB_',
  'GH_',
  'GITLAB_',
  'ANTHROPIC_',
  'OPENAI_',
  'HF_',
  'HUGGING',
  'NPM_',
  'NODE_AUTH',
  'DOCKER_',
  'KUBE',
  'SSH_',
  'GPG_',
  'GNUPG',
  'VAULT_',
  'SLACK_',
  'STRIPE_',
  'SENTRY_',
  'DATABASE_',
  'PG',
  'MYSQL_',
  'REDIS_',
  'SLIPWAY_',
];

/** A value like scheme://user:password@host carries a credential whatever its name. */
const URL_WITH_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** True when a variable must never reach a sandboxed command. */
export function isSecretVariable(name: string, value: string): boolean {
  const upper = name.toUpperCase();
  if (SECRET_NAME.test(upper)) return true;
  if (SECRET_PREFIXES.some((p) => upper.startsWith(p))) return true;
  return URL_WITH_CREDENTIALS.test(value);
}

function isAllowed(name: string): boolean {
  return ALLOWED.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The allowlisted, secret-free part of `env`. `extra` (variables the caller adds on purpose) skips the
 * allowlist but not the secret filter.
 */
export function stripEnv(env: Env, extra: Env = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !isAllowed(name) || isSecretVariable(name, value)) continue;
    out[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined || isSecretVariable(name, value)) continue;
    out[name] = value;
  }
  return out;
}
