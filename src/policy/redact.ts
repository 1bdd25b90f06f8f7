/**
 * Secret redaction: known credential shapes and the values of the user's secret variables are replaced
 * before anything reaches a model, the event log, a recording or a pull request body.
 */
import type { ChatMessage, ModelClient, ModelRequest, RunStore } from '../protocol/index.js';

const PATTERNS: Array<[string, RegExp]> = [
  ['anthropic-key', /sk-ant-[A-Za-z0-9_-]{10,}/g],
  ['openai-key', /sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}/g],
  ['github-token', /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g],
  ['aws-access-key', /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g],
  ['slack-token', /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g],
  ['google-api-key', /\bAIza[0-9A-Za-z_-]{35}\b/g],
  ['npm-token', /\bnpm_[A-Za-z0-9]{36}\b/g],
  ['private-key', /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g],
  ['jwt', /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g],
];

const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE)/i;
const MIN_VALUE_LENGTH = 8;

export interface Redactor {
  redact(text: string): string;
  /** Adds values found later (a committed .env, say); short ones are ignored. */
  addSecrets(values: string[]): void;
  /** Grows whenever secrets are added, so cached redactions can tell they are stale. */
  readonly version: number;
  /** Deep copy of a JSON-like value with every string redacted. */
  redactValue<T>(value: T): T;
}

/** Builds a redactor from the process environment: every value of a secret-named variable is masked. */
export function createRedactor(env: Record<string, string | undefined>, extraSecrets: string[] = []): Redactor {
  const values = new Set<string>(extraSecrets.filter((v) => v.length >= MIN_VALUE_LENGTH));
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= MIN_VALUE_LENGTH && SECRET_NAME.test(name)) values.add(value);
  }
  // Longest first, so a secret that contains another is masked whole.
  let literals = [...values].sort((a, b) => b.length - a.length);
  let version = 0;
  const addSecrets = (more: string[]) => {
    for (const v of more) if (v.length >= MIN_VALUE_LENGTH) values.add(v);
    literals = [...values].sort((a, b) => b.length - a.length);
    version++;
  };
  const redact = (text: string): string => {
    let out = text;
    for (const literal of literals) if (out.includes(literal)) out = out.split(literal).join('[REDACTED]');
    for (const [name, re] of PATTERNS) out = out.replace(re, `[REDACTED:${name}]`);
    return out;
  };
  const redactValue = <T>(value: T): T => {
    if (typeof value === 'string') return redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)])) as T;
    }
    return value;
  };
  return {
    redact,
    redactValue,
    addSecrets,
    get version() {
      return version;
    },
  };
}

/** A model client that never sends a secret: every request is redacted on its way out. */
export function redactingModel(client: ModelClient, redactor: Redactor): ModelClient {
  // A conversation only grows, so each message is redacted once; a message changed in place (context
  // trimming elides old tool output) is redacted again because its serialised form no longer matches.
  const seen = new WeakMap<object, { source: string; redacted: ChatMessage }>();
  const redactMessage = (message: ChatMessage): ChatMessage => {
    const source = `${redactor.version}:${JSON.stringify(message)}`;
    const hit = seen.get(message);
    if (hit && hit.source === source) return hit.redacted;
    const redacted = redactor.redactValue(message);
    seen.set(message, { source, redacted });
    return redacted;
  };
  return {
    spec: client.spec,
    contextWindow: client.contextWindow,
    complete: (request: ModelRequest, options) =>
      client.complete(
        { ...request, system: redactor.redact(request.system), tools: request.tools, messages: request.messages.map(redactMessage) },
        options,
      ),
    ...(client.warm ? { warm: () => client.warm?.() } : {}),
  };
}

/** A store that never persists a secret: runs, events, plans, decisions, pull requests and gates are redacted. */
export function redactingStore(store: RunStore, redactor: Redactor): RunStore {
  const r = redactor.redactValue;
  const writes: Partial<RunStore> = {
    createRun: (run) => store.createRun(r(run)),
    updateRun: (id, patch) => store.updateRun(id, r(patch)),
    appendEvent: (run, event) => store.appendEvent(run, r(event)),
    savePlan: (run, plan) => store.savePlan(run, r(plan)),
    saveConversation: (run, conversation) => store.saveConversation(run, r(conversation)),
    addDecision: (run, decision) => store.addDecision(run, r(decision)),
    createPullRequest: (pr) => store.createPullRequest(r(pr)),
    updatePullRequest: (pr) => store.updatePullRequest(r(pr)),
    // A gate names the command or file an agent asked for, which may hold a secret it saw.
    createGate: (gate) => store.createGate(r(gate)),
    transitionGate: (next, from) => store.transitionGate(r(next), from),
  };
  // Reads and any method added to the port later pass through unchanged.
  return new Proxy(store, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in writes) return writes[prop as keyof RunStore];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
