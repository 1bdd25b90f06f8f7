/**
 * createModelClient(spec): the one place that turns a model spec into a ModelClient.
 *
 *   anthropic/<model>          Anthropic Messages API (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL)
 *   openai/<model>             OpenAI Responses API (OPENAI_API_KEY, OPENAI_BASE_URL)
 *   openai-compatible/<model>  any chat-completions server (base URL from --base-url or OPENAI_BASE_URL)
 *   script:<file>              scripted turns, no network
 *   replay:<file>              a recording made with recordPath
 *
 * Configuration is checked here, without a network call; vendor SDKs are imported only when used.
 */
import { ModelError, type ModelClient } from '../protocol/model.js';
import { activityFetch } from './activity.js';
import { freePrice, lookupModel } from './catalog.js';
import type { ProviderContext } from './errors.js';
import { createReplayClient, withRecording } from './recording.js';
import type { RetryInfo } from './retry.js';
import { createScriptClient } from './script-client.js';

export interface CreateModelClientOptions {
  /** Overrides the provider's base URL variable. Include the API root, e.g. `http://localhost:11434/v1`. */
  baseUrl?: string;
  env: Record<string, string | undefined>;
  /** Append every exchange to this JSONL file. */
  recordPath?: string;
  onRetry?: (info: RetryInfo) => void;
  /** Abort and retry a stream that sends nothing for this long (default 30 s). */
  stallTimeoutMs?: number;
  /** Stop retrying after this long (default 60 s). */
  giveUpAfterMs?: number;
  /** First backoff step (default 500 ms, doubling up to 8 s); tests shorten it. */
  retryBaseMs?: number;
  fetch?: typeof fetch;
}

export const validSpecForms = [
  'anthropic/<model>',
  'openai/<model>',
  'openai-compatible/<model>',
  'script:<file>',
  'replay:<file>',
] as const;

const specHint = `Use one of: ${validSpecForms.join(', ')} (for example anthropic/claude-sonnet-4-5).`;

const vendors = {
  anthropic: { keyVar: 'ANTHROPIC_API_KEY', baseUrlVar: 'ANTHROPIC_BASE_URL', defaultBaseUrl: 'https://api.anthropic.com/v1' },
  openai: { keyVar: 'OPENAI_API_KEY', baseUrlVar: 'OPENAI_BASE_URL', defaultBaseUrl: 'https://api.openai.com/v1' },
  'openai-compatible': { keyVar: 'OPENAI_API_KEY', baseUrlVar: 'OPENAI_BASE_URL', defaultBaseUrl: undefined },
} as const;

type Vendor = keyof typeof vendors;

function isVendor(name: string): name is Vendor {
  return Object.hasOwn(vendors, name);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function checkBaseUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ModelError('config', `The base URL "${url}" (from ${source}) is not a valid URL.`, 'Give an http(s) URL of the API root, e.g. http://localhost:11434/v1.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ModelError('config', `The base URL "${url}" (from ${source}) must use http or https.`, 'Give an http(s) URL of the API root, e.g. http://localhost:11434/v1.');
  }
  return url.replace(/\/+$/, '');
}

function fileOf(spec: string, prefix: string): string {
  const file = spec.slice(prefix.length).trim();
  if (file === '') throw new ModelError('config', `The model spec "${spec}" names no file.`, `Write ${prefix}<path to the file>.`);
  return file;
}

async function createVendorClient(spec: string, vendor: Vendor, model: string, opts: CreateModelClientOptions): Promise<ModelClient> {
  const v = vendors[vendor];
  const apiKey = nonEmpty(opts.env[v.keyVar]);
  if (apiKey === undefined && vendor !== 'openai-compatible') {
    throw new ModelError('config', `${v.keyVar} is not set; ${spec} needs it.`, `Export ${v.keyVar}=<your key> (or put it in your environment) and run again, or pick another model with --model.`);
  }
  const fromOpts = nonEmpty(opts.baseUrl);
  const fromEnv = nonEmpty(opts.env[v.baseUrlVar]);
  const rawBaseUrl = fromOpts ?? fromEnv ?? v.defaultBaseUrl;
  if (rawBaseUrl === undefined) {
    throw new ModelError('config', `${spec} needs the URL of the server to talk to.`, `Pass --base-url (e.g. http://localhost:11434/v1) or set ${v.baseUrlVar}.`);
  }
  const baseUrl = checkBaseUrl(rawBaseUrl, fromOpts ? 'the baseUrl option' : fromEnv ? v.baseUrlVar : 'the default');
  const ctx: ProviderContext = { provider: vendor, model, baseUrl, keyVar: vendor === 'openai-compatible' ? undefined : v.keyVar, baseUrlVar: v.baseUrlVar };
  const entry = lookupModel(model);
  const [{ createSdkClient }, languageModel] = await Promise.all([import('./sdk-client.js'), loadLanguageModel(vendor, model, baseUrl, apiKey, activityFetch(opts.fetch))]);
  return createSdkClient({
    spec,
    model: languageModel,
    ctx,
    price: vendor === 'openai-compatible' ? freePrice : entry.price,
    contextWindow: entry.price.contextWindow,
    cache: vendor === 'anthropic',
    retry: { onRetry: opts.onRetry, stallTimeoutMs: opts.stallTimeoutMs, giveUpAfterMs: opts.giveUpAfterMs, retryBaseMs: opts.retryBaseMs },
  });
}

async function loadLanguageModel(vendor: Vendor, model: string, baseURL: string, apiKey: string | undefined, customFetch: typeof fetch) {
  if (vendor === 'anthropic') {
    const { createAnthropic } = await import('@ai-sdk/anthropic');
    return createAnthropic({ apiKey, baseURL, fetch: customFetch })(model);
  }
  if (vendor === 'openai') {
    const { createOpenAI } = await import('@ai-sdk/openai');
    return createOpenAI({ apiKey, baseURL, fetch: customFetch }).responses(model);
  }
  const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
  return createOpenAICompatible({ name: 'openai-compatible', baseURL, apiKey, includeUsage: true, fetch: customFetch }).chatModel(model);
}

/** Builds the ModelClient for a spec; throws ModelError('config') when the spec or its settings are wrong. */
export async function createModelClient(spec: string, opts: CreateModelClientOptions): Promise<ModelClient> {
  const client = await createBaseClient(spec.trim(), opts);
  return opts.recordPath ? withRecording(client, opts.recordPath) : client;
}

async function createBaseClient(spec: string, opts: CreateModelClientOptions): Promise<ModelClient> {
  if (spec.startsWith('script:')) return createScriptClient(spec, fileOf(spec, 'script:'));
  if (spec.startsWith('replay:')) return createReplayClient(spec, fileOf(spec, 'replay:'));
  const slash = spec.indexOf('/');
  const provider = slash === -1 ? spec : spec.slice(0, slash);
  const model = slash === -1 ? '' : spec.slice(slash + 1).trim();
  if (!isVendor(provider)) {
    throw new ModelError('config', `Unknown model provider "${provider}" in "${spec}".`, specHint);
  }
  if (model === '') throw new ModelError('config', `The model spec "${spec}" names no model.`, specHint);
  return createVendorClient(spec, provider, model, opts);
}
