/** Live progress: one updating line on a terminal, plain lines otherwise, JSON lines with --json. */
import type { AgentEvent, StoredEvent } from '../protocol/index.js';

export interface Progress {
  event(e: StoredEvent): void;
  done(): void;
}

/** `write` gets raw text; `columns` is set only when it goes to a terminal, where one status line is redrawn. */
export function createProgress(opts: { json: boolean; write: (text: string) => void; terminal?: { columns?: number } | null }): Progress {
  if (opts.json) {
    return {
      event: (e) => opts.write(`${JSON.stringify({ seq: e.seq, run: e.run, at: e.at, ...e.event })}\n`),
      done: () => undefined,
    };
  }
  let tokens = 0;
  let cost = 0;
  let step = 0;
  let phase = 'setup';
  let lastTool = '';
  let statusShown = false;
  const tty = !opts.json && !!opts.terminal;
  const clearStatus = () => {
    if (tty && statusShown) opts.write('\r\x1b[2K');
    statusShown = false;
  };
  const showStatus = () => {
    if (!tty) return;
    const line = `… ${phase} · step ${step} · ${lastTool || 'thinking'} · ${formatTokens(tokens)} tokens · $${cost.toFixed(3)}`;
    opts.write(`\r\x1b[2K${line.slice(0, (opts.terminal?.columns || 100) - 1)}`);
    statusShown = true;
  };
  const print = (line: string) => {
    clearStatus();
    opts.write(`${line}\n`);
  };
  return {
    event({ event }) {
      switch (event.type) {
        case 'model_call':
          tokens += event.inputTokens + event.outputTokens;
          cost += event.costUsd;
          step = event.step;
          if (!tty) print(`  [${event.role}] model call ${event.step}: ${formatTokens(event.inputTokens + event.outputTokens)} tokens`);
          break;
        case 'tool_call':
          lastTool = event.tool;
          break;
        case 'tool_result':
          lastTool = event.summary;
          if (!tty) print(`  [${event.role}] ${event.ok ? '✓' : '✗'} ${event.summary}`);
          break;
        case 'phase':
          phase = event.phase;
          print(`▸ ${event.phase}`);
          break;
        default: {
          const text = describe(event);
          if (text) print(text);
        }
      }
      showStatus();
    },
    done: clearStatus,
  };
}

export function describe(event: AgentEvent): string | null {
  switch (event.type) {
    case 'run_started':
      return `slipway: "${event.goal}" on ${event.repo} (base: ${event.base}) with ${event.model}`;
    case 'notice':
      return `  ${event.message}`;
    case 'model_retry':
      return `  model: ${event.reason}; retry ${event.attempt} in ${(event.waitMs / 1000).toFixed(1)}s`;
    case 'plan':
      return `  plan: ${event.plan.summary}\n${event.plan.acceptance.map((a) => `    • ${a}`).join('\n')}`;
    case 'tests':
      return `  tests (${event.when}): ${event.counts ? `${event.counts.passed} passed, ${event.counts.failed} failed, ${event.counts.skipped} skipped` : `not parsed: ${event.reason}`}`;
    case 'verification':
      return `  verifier: ${event.verification.verdict}${event.verification.overriddenBy ? ` (overridden: ${event.verification.overriddenBy.join(' ')})` : ''}`;
    case 'decision':
      return `  decision (${event.decision.by}${event.decision.autonomous ? '' : ', escalated'}): ${event.decision.action}`;
    case 'escalated':
      return `✋ escalated: ${event.question}`;
    case 'awaiting_approval':
      return `✋ ${event.action} ${event.subject} awaits approval: gate ${event.gate}${event.waiting ? ' (waiting for the answer)' : ''}\n  approve: slipway approve ${event.gate}   reject: slipway reject ${event.gate} --reason "..."`;
    case 'gate_answered':
      return `  gate ${event.gate} ${event.status}${event.note ? `: ${event.note}` : ''}`;
    case 'pr_opened':
      return `✔ pull request ${event.pr} opened from ${event.branch}`;
    case 'failed':
      return `✗ failed: ${event.error}`;
    case 'stopped':
      return `■ stopped: ${event.reason}`;
    case 'text':
      return null;
    default:
      return null;
  }
}

function formatTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}
