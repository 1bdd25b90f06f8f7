/**
 * Watches for no progress: the same call repeating with the same result, edits that keep failing, or test
 * results that do not move. It escalates instead of letting the loop spin.
 */
import { createHash } from 'node:crypto';
import { Escalation } from './errors.js';

export interface SupervisorLimits {
  sameCallRepeats: number;
  failedEditsInARow: number;
  stuckTestRuns: number;
}

export const DEFAULT_SUPERVISOR: SupervisorLimits = { sameCallRepeats: 3, failedEditsInARow: 5, stuckTestRuns: 4 };

export class Supervisor {
  private readonly seen = new Map<string, number>();
  private failedEdits = 0;
  private lastTests: string | null = null;
  private sameTests = 0;

  constructor(private readonly limits: SupervisorLimits = DEFAULT_SUPERVISOR) {}

  record(tool: string, input: unknown, output: string, isError: boolean): void {
    const key = hash(`${tool}\0${JSON.stringify(input)}\0${output}`);
    const count = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, count);
    if (count >= this.limits.sameCallRepeats) {
      throw new Escalation(
        `I am stuck: the same ${tool} call returned the same result ${count} times (${describe(input)}). ` +
          `How should I proceed?`,
        'stuck',
      );
    }
    if (tool === 'edit_file' || tool === 'write_file') {
      this.failedEdits = isError ? this.failedEdits + 1 : 0;
      if (this.failedEdits >= this.limits.failedEditsInARow) {
        throw new Escalation(
          `I am stuck: ${this.failedEdits} edits in a row failed (last: ${firstLine(output)}). How should I proceed?`,
          'stuck',
        );
      }
    }
    if (tool === 'run_tests' && isError) {
      const fingerprint = hash(output.split('--- output ---')[0] ?? output);
      this.sameTests = fingerprint === this.lastTests ? this.sameTests + 1 : 1;
      this.lastTests = fingerprint;
      if (this.sameTests >= this.limits.stuckTestRuns) {
        throw new Escalation(
          `I am stuck: the tests failed the same way ${this.sameTests} runs in a row. ${firstLine(output)} ` +
            `What am I missing?`,
          'stuck',
        );
      }
    } else if (tool === 'run_tests') {
      this.sameTests = 0;
      this.lastTests = null;
    }
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim()) ?? '').slice(0, 200);
}

function describe(input: unknown): string {
  const text = JSON.stringify(input) ?? '';
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
