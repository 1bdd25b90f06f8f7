/** Row shapes of the SQLite schema as kysely sees them; migrations.ts is what creates them. */
import type { Generated } from 'kysely';

export interface RunsTable {
  id: string;
  goal: string;
  repo: string;
  base: string;
  branch: string | null;
  model: string;
  status: string;
  phase: string | null;
  question: string | null;
  error: string | null;
  pr_id: string | null;
  steps: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cost_usd: number;
  model_calls: number;
  created_at: string;
  updated_at: string;
}

export interface EventsTable {
  seq: Generated<number>;
  run: string;
  at: string;
  type: string;
  json: string;
}

export interface PlansTable {
  run: string;
  json: string;
}

export interface DecisionsTable {
  id: Generated<number>;
  run: string;
  seq: number;
  json: string;
  at: string;
  /** Hash of the run's previous decision (64 zeros for the first); null only on a row the migration could not read. */
  prev_hash: string | null;
  /** sha256 of the canonical JSON of {seq, run, prev, at, decision}: see policy/ledger.ts. */
  hash: string | null;
}

export interface PullRequestsTable {
  id: string;
  run: string;
  status: string;
  json: string;
  created_at: string;
}

export interface GatesTable {
  id: string;
  run: string;
  pr: string | null;
  status: string;
  json: string;
  created_at: string;
}

export interface Tables {
  runs: RunsTable;
  events: EventsTable;
  plans: PlansTable;
  decisions: DecisionsTable;
  pull_requests: PullRequestsTable;
  gates: GatesTable;
  conversations: PlansTable;
}
