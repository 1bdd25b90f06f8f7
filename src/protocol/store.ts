/** The storage port: the agent records through it and never sees a database. */
import type { Gate, GateStatus } from './gate.js';
import type { ChatMessage, ToolResult } from './model.js';
import type { AgentEvent, Decision, LedgerEntry, Plan, PullRequest, RunRecord, RunStatus, StoredEvent, UsageTotals, Phase } from './run.js';

/**
 * A conversation a run stopped in the middle of, at a gate: its messages, and the results of the tool calls of
 * its last assistant message that ran before the gate. The run goes on from exactly there.
 */
export interface SavedConversation {
  role: 'planner' | 'coder';
  messages: ChatMessage[];
  results: ToolResult[];
}

export interface NewRun {
  id: string;
  goal: string;
  repo: string;
  base: string;
  model: string;
}

export interface RunPatch {
  status?: RunStatus;
  phase?: Phase | null;
  branch?: string | null;
  question?: string | null;
  error?: string | null;
  prId?: string | null;
  steps?: number;
  usage?: UsageTotals;
}

export interface RunStore {
  createRun(run: NewRun): Promise<RunRecord>;
  updateRun(id: string, patch: RunPatch): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(limit?: number): Promise<RunRecord[]>;
  appendEvent(run: string, event: AgentEvent): Promise<StoredEvent>;
  listEvents(run: string): Promise<StoredEvent[]>;
  savePlan(run: string, plan: Plan): Promise<void>;
  getPlan(run: string): Promise<Plan | undefined>;
  /** Keeps the one conversation a run rests in (replacing an earlier one); `null` forgets it. */
  saveConversation(run: string, conversation: SavedConversation | null): Promise<void>;
  getConversation(run: string): Promise<SavedConversation | undefined>;
  addDecision(run: string, decision: Decision): Promise<void>;
  listDecisions(run: string): Promise<Decision[]>;
  /** The run's decisions as hash-chained ledger entries, in order (seq 1, 2, ...); empty for an unknown run. */
  listLedger(run: string): Promise<LedgerEntry[]>;
  createPullRequest(pr: PullRequest): Promise<void>;
  getPullRequest(id: string): Promise<PullRequest | undefined>;
  listPullRequests(): Promise<PullRequest[]>;
  /** Replaces a pull request's record (status, history); the id must exist. */
  updatePullRequest(pr: PullRequest): Promise<void>;
  createGate(gate: Gate): Promise<void>;
  getGate(id: string): Promise<Gate | undefined>;
  /** Pending gates first, then the others; newest first within each. */
  listGates(): Promise<Gate[]>;
  /**
   * Moves a gate to its next state, only if it is still in `from` (compare and set): two people answering
   * at once cannot both win. Throws StoreError `conflict` when the gate moved, `not_found` when absent.
   */
  transitionGate(next: Gate, from: GateStatus): Promise<void>;
  close(): Promise<void>;
}
