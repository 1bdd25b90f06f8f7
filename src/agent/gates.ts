/**
 * Gates inside a run: an action a rule answered `ask` (a command, a file), or the plan under --approve-plan,
 * becomes a durable gate row. With a wait (`slipway run --wait`) the run blocks until a person answers from
 * another process; without one, or when the wait runs out, the run rests as `awaiting_approval` and the
 * person's answer continues it. The agent never sees the store, so it can neither list nor answer a gate.
 */
import os from 'node:os';
import type { AgentEvent, Decision, Gate, GateAction, GateEvidence, GateRisk, PolicyKind, RunStore, SavedConversation } from '../protocol/index.js';
import { newId } from '../protocol/index.js';
import { processAlive } from './owner.js';

/** The run stops here until a person answers `gate`; thrown out of the loop and settled by runGoal. */
export class AwaitingApproval extends Error {
  override name = 'AwaitingApproval';
  /** Where the conversation stood, when the gate came in the middle of one (set by the loop). */
  conversation?: SavedConversation;
  constructor(readonly gate: Gate) {
    super(`${gate.action} ${gate.subject} awaits a person's approval (gate ${gate.id})`);
  }
}

/** Another process went on with this run after its gate was answered: this one leaves it alone. */
export class ContinuedElsewhere extends Error {
  override name = 'ContinuedElsewhere';
}

export type GateAnswerResult = { approved: true; note?: string } | { approved: false; reason: string };

export interface GateRequest {
  action: GateAction;
  /** Exactly what is asked for: the command line, the file path, the plan's summary. */
  subject: string;
  why: string;
  evidence: GateEvidence;
  risk: GateRisk;
}

export interface GateKeeperOptions {
  store: RunStore;
  run: string;
  decide: (decision: Decision) => Promise<void>;
  emit: (event: AgentEvent) => Promise<void>;
  signal: AbortSignal;
  /** Block for an answer this long (`--wait`); absent: never block. */
  waitMs?: number;
  /** How often a waiting run looks at the store. */
  pollMs?: number;
}

/** Asks for gates on behalf of one run and remembers what a person approved, for the rest of the run. */
export class GateKeeper {
  readonly #grants = new Set<string>();
  readonly #refusals = new Map<string, string>();

  constructor(private readonly o: GateKeeperOptions) {}

  /** Approvals given earlier in this run (before a resume) count again. */
  grant(action: GateAction, subject: string): void {
    this.#grants.add(key(action, subject));
  }

  granted(action: GateAction, subject: string): boolean {
    return this.#grants.has(key(action, subject));
  }

  /** A person refused this action in this run: asking for it again gets the same answer, not a new gate. */
  refuse(action: GateAction, subject: string, reason: string): void {
    this.#refusals.set(key(action, subject), reason);
  }

  /**
   * Creates the gate and waits for the answer when the run may wait; otherwise (or when the wait runs out)
   * throws AwaitingApproval. An approval is remembered: the same action on the same subject is not asked twice.
   */
  async ask(request: GateRequest): Promise<GateAnswerResult> {
    if (this.granted(request.action, request.subject)) return { approved: true };
    const refused = this.#refusals.get(key(request.action, request.subject));
    if (refused !== undefined) return { approved: false, reason: refused };
    const { store, run } = this.o;
    const waiting = this.o.waitMs !== undefined && this.o.waitMs > 0 && !this.o.signal.aborted;
    const now = new Date().toISOString();
    const gate: Gate = {
      id: newId('g'),
      run,
      action: request.action,
      subject: request.subject,
      why: request.why,
      evidence: request.evidence,
      risk: request.risk,
      ...(waiting ? { waiter: { pid: process.pid, host: os.hostname() } } : {}),
      status: 'pending',
      createdAt: now,
      updatedAt: now,
    };
    const before = await store.getRun(run);
    await store.createGate(gate);
    await this.o.decide({ action: `ask a person: ${request.action} ${request.subject}`, by: 'policy', autonomous: false, reason: request.why, evidence: gate.id });
    await store.updateRun(run, { status: 'awaiting_approval' });
    await this.o.emit({ type: 'awaiting_approval', gate: gate.id, action: gate.action, subject: gate.subject, waiting });
    if (!waiting) throw new AwaitingApproval(gate);

    const answered = await this.#waitFor(gate);
    if (answered.status === 'approved') {
      // Claim the continuation: only one process goes on with the run.
      try {
        await store.transitionGate({ ...answered, status: 'done', outcome: 'the waiting run went on', updatedAt: new Date().toISOString() }, 'approved');
      } catch (error) {
        if (isConflict(error)) throw new ContinuedElsewhere(`gate ${gate.id} was taken up by another process`);
        throw error;
      }
      if (before) await store.updateRun(run, { status: before.status });
      await this.o.emit({ type: 'gate_answered', gate: gate.id, status: 'approved', ...(answered.answer.note ? { note: answered.answer.note } : {}) });
      this.grant(request.action, request.subject);
      return { approved: true, ...(answered.answer.note ? { note: answered.answer.note } : {}) };
    }
    if (answered.status === 'rejected') {
      if (before) await store.updateRun(run, { status: before.status });
      const reason = answered.answer.reason ?? 'no reason given';
      await this.o.emit({ type: 'gate_answered', gate: gate.id, status: 'rejected', note: reason });
      if (request.action !== 'plan') this.refuse(request.action, request.subject, reason);
      return { approved: false, reason };
    }
    throw new ContinuedElsewhere(`gate ${gate.id} is ${answered.status}: another process went on with the run`);
  }

  /** Polls the gate until it is answered; on a timeout or Ctrl-C, lets go of it and throws AwaitingApproval. */
  async #waitFor(gate: Gate): Promise<Gate> {
    const { store, signal } = this.o;
    const deadline = Date.now() + (this.o.waitMs ?? 0);
    const pollMs = this.o.pollMs ?? 250;
    for (;;) {
      const current = await store.getGate(gate.id);
      if (!current) throw new ContinuedElsewhere(`gate ${gate.id} is gone from the store`);
      if (current.status !== 'pending') return current;
      if (Date.now() >= deadline || signal.aborted) {
        // Nobody waits any more: whoever answers now continues the run. An answer that raced in wins.
        const { waiter: _gone, ...rest } = current;
        try {
          await store.transitionGate({ ...rest, updatedAt: new Date().toISOString() }, 'pending');
        } catch (error) {
          if (isConflict(error)) continue;
          throw error;
        }
        throw new AwaitingApproval(rest);
      }
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), signal);
    }
  }
}

/** How risky an action a rule answered `ask` is, by kind. */
export function askRisk(kind: PolicyKind): GateRisk {
  switch (kind) {
    case 'read':
      return { level: 'low', reason: 'reading changes nothing' };
    case 'write':
    case 'exec':
      return { level: 'medium', reason: `the ${kind === 'exec' ? 'command runs' : 'file is written'} in the sandbox, inside the run's clone` };
    default:
      return { level: 'high', reason: `${kind} reaches beyond the run's clone` };
  }
}

/** Whether the process that blocks on a gate is still alive (on this machine; another host's is assumed alive). */
export function waiterAlive(gate: Gate): boolean {
  return gate.waiter !== undefined && processAlive(gate.waiter);
}

/** The store port's compare-and-set refusal (StoreError `conflict`), told apart without importing the store. */
function isConflict(error: unknown): boolean {
  return error instanceof Error && error.name === 'StoreError' && (error as { kind?: unknown }).kind === 'conflict';
}

function key(action: GateAction, subject: string): string {
  return `${action}\u0000${subject}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
