/**
 * Models for an evaluation. `script:<dir>` gives each instance its own script, `<dir>/<instance_id>.json`;
 * `script:<file>` and `replay:<file>` are one sequence that every instance consumes in turn (deterministic
 * only with --concurrency 1); a vendor model gets a fresh client per instance.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createModelClient } from '../model/index.js';
import { ModelError, type ModelClient } from '../protocol/index.js';
import type { RetryNotice } from './run-instance.js';

export interface ModelFactoryOptions {
  baseUrl?: string;
  env: Record<string, string | undefined>;
  giveUpAfterMs: number;
}

export interface ModelFactory {
  /** True when all instances share one scripted or recorded sequence. */
  readonly shared: boolean;
  modelFor(instanceId: string, onRetry: (info: RetryNotice) => void): Promise<ModelClient>;
}

export async function createModelFactory(spec: string, opts: ModelFactoryOptions): Promise<ModelFactory> {
  const trimmed = spec.trim();
  const make = (s: string, onRetry?: (info: RetryNotice) => void) =>
    createModelClient(s, { ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}), env: opts.env, giveUpAfterMs: opts.giveUpAfterMs, ...(onRetry ? { onRetry } : {}) });

  if (trimmed.startsWith('script:')) {
    const target = path.resolve(trimmed.slice('script:'.length).trim());
    const info = await stat(target).catch(() => null);
    if (info?.isDirectory()) {
      return {
        shared: false,
        async modelFor(id) {
          const file = path.join(target, `${id}.json`);
          if (!(await stat(file).catch(() => null))?.isFile()) {
            throw new ModelError('config', `there is no script ${file}`, `With --model script:<dir>, put one script per instance in <dir>/<instance_id>.json.`);
          }
          return make(`script:${file}`);
        },
      };
    }
  }
  if (trimmed.startsWith('script:') || trimmed.startsWith('replay:')) {
    // One client, so the sequence goes on from instance to instance instead of restarting.
    const client = await make(trimmed);
    return { shared: true, modelFor: async () => client };
  }
  // Checks the spec and its keys now, so a typo stops the evaluation before any instance runs.
  await make(trimmed);
  return { shared: false, modelFor: (_id, onRetry) => make(trimmed, onRetry) };
}
