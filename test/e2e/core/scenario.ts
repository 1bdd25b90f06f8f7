/** Shared set-up of the core scenarios: a temp SLIPWAY_HOME, the LLM fake, the built CLI. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ScriptTurn } from '../../../src/model/script-turn.js';
import { startLlmServer, type LlmServer } from '../../support/llm-server.js';
import { cliEnv, runCli, type CliResult } from '../../support/cli.js';
import { afterEach, beforeEach } from 'vitest';
import { exampleRepo, removeDir, ROOT, tempDir } from '../../support/repos.js';

export type VendorSpec = 'openai' | 'anthropic' | 'openai-compatible';

export const MODEL: Record<VendorSpec, string> = {
  openai: 'openai/gpt-5',
  anthropic: 'anthropic/claude-sonnet-4-5',
  'openai-compatible': 'openai-compatible/qwen2.5-coder',
};

export function demoTurns(): ScriptTurn[] {
  const file = path.join(ROOT, 'examples', 'demo-cart', 'slipway-script.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { turns: ScriptTurn[] }).turns;
}

export interface Harness {
  home: string;
  server: LlmServer;
  env(vendor: VendorSpec, extra?: Record<string, string>): NodeJS.ProcessEnv;
  run(vendor: VendorSpec, args: string[], extra?: Record<string, string>): Promise<CliResult>;
  /** Writes $SLIPWAY_HOME/config.json. */
  userConfig(config: Record<string, unknown>): void;
}

export async function harness(): Promise<Harness> {
  const home = tempDir('slipway-home-');
  const server = await startLlmServer();
  const env = (vendor: VendorSpec, extra: Record<string, string> = {}) =>
    cliEnv(home, {
      ...(vendor === 'anthropic'
        ? { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: server.anthropicBaseUrl }
        : { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: server.openaiBaseUrl }),
      ...extra,
    });
  return {
    home,
    server,
    env,
    run: (vendor, args, extra) => runCli([...args, '--model', MODEL[vendor]], env(vendor, extra)),
    userConfig(config) {
      mkdirSync(home, { recursive: true });
      writeFileSync(path.join(home, 'config.json'), JSON.stringify(config));
    },
  };
}

export function lastLine(result: CliResult): Record<string, unknown> {
  return result.json.at(-1) ?? {};
}

/** Every stdout line in --json mode must be JSON. */
export function onlyJson(result: CliResult): boolean {
  return result.json.every((l) => !('__notJson' in l));
}

export interface Scenario {
  h: Harness;
  /** The copy of the example named to useScenario (empty when none was). */
  repo: string;
  /** Another fresh copy of an example repository (with extra files committed), removed after the test. */
  newRepo(example: string, files?: Record<string, string>): string;
}

/**
 * The usual set-up of a scenario file: a fresh harness for each test and, when an example is named, a fresh
 * copy of it; everything is removed afterwards. Read them through the returned object (`s.h`, `s.repo`).
 */
export function useScenario(example?: string, files?: Record<string, string>): Scenario {
  const made: string[] = [];
  const s: Scenario = {
    h: undefined as unknown as Harness,
    repo: '',
    newRepo(name, extra) {
      const repo = exampleRepo(name, extra);
      made.push(repo);
      return repo;
    },
  };
  beforeEach(async () => {
    s.h = await harness();
    s.repo = example ? s.newRepo(example, files) : '';
  });
  afterEach(async () => {
    await s.h.server.close();
    removeDir(s.h.home);
    for (const repo of made.splice(0)) removeDir(repo);
  });
  return s;
}
