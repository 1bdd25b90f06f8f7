import type { ModelResponse, UsageTotals } from '../protocol/index.js';
import { Escalation } from './errors.js';

export interface Budgets {
  steps: number;
  tokens: number;
  dollars: number;
  wallMinutes: number;
}

/** Tracks spend across every conversation of a run and stops it before a budget is passed. */
export class Budget {
  readonly usage: UsageTotals = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, modelCalls: 0 };
  private readonly startedAt: number;

  constructor(
    readonly limits: Budgets,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  get steps(): number {
    return this.usage.modelCalls;
  }

  /** Throws an Escalation when a limit is reached; called before every model call. */
  check(): void {
    const u = this.usage;
    const elapsedMin = (this.now() - this.startedAt) / 60_000;
    const over =
      u.modelCalls >= this.limits.steps
        ? `${u.modelCalls} model calls (limit ${this.limits.steps})`
        : u.inputTokens + u.outputTokens >= this.limits.tokens
          ? `${u.inputTokens + u.outputTokens} tokens (limit ${this.limits.tokens})`
          : u.costUsd >= this.limits.dollars
            ? `$${u.costUsd.toFixed(2)} (limit $${this.limits.dollars})`
            : elapsedMin >= this.limits.wallMinutes
              ? `${elapsedMin.toFixed(1)} minutes (limit ${this.limits.wallMinutes})`
              : null;
    if (over) {
      throw new Escalation(
        `The run used its budget: ${over}. Raise the budget (--max-steps, --max-tokens, --max-dollars, --max-minutes) and resume, or narrow the goal.`,
        'budget',
      );
    }
  }

  add(response: ModelResponse): void {
    this.usage.inputTokens += response.usage.inputTokens;
    this.usage.outputTokens += response.usage.outputTokens;
    this.usage.cachedInputTokens += response.usage.cachedInputTokens;
    this.usage.costUsd += response.costUsd;
    this.usage.modelCalls += 1;
  }
}
