/**
 * The loop: ask the model, run the tools it calls, feed the results back, until it calls the tool that ends
 * this conversation. Budgets, the supervisor and the abort signal are checked every step.
 */
import type { AgentEvent, ChatMessage, ModelClient, ModelRole, ToolCall, ToolResult } from '../protocol/index.js';
import { ModelError } from '../protocol/index.js';
import { ToolInputError, type Tool, type ToolContext } from '../tools/index.js';
import type { Budget } from './budget.js';
import { Escalation, RunAborted } from './errors.js';
import type { Supervisor } from './supervisor.js';
import { fitContext } from './context.js';
import { AwaitingApproval } from './gates.js';

export interface Conversation {
  role: ModelRole;
  system: string;
  messages: ChatMessage[];
  tools: Tool[];
  /** The control tool whose valid call ends the conversation. */
  stopTool: string;
  /** Watches this conversation for no progress (one per role: a planner's read is no coder's repeat). */
  supervisor: Supervisor;
  /** Called after each whole exchange (the model's calls and all their results), to keep the conversation. */
  onExchange?: (messages: ChatMessage[]) => Promise<void>;
}

export interface LoopEnv {
  model: ModelClient;
  toolContext: ToolContext;
  budget: Budget;
  emit: (event: AgentEvent) => Promise<void>;
  signal: AbortSignal;
}

const MAX_NUDGES = 3;

/**
 * Runs the conversation to its stop tool and returns that tool's parsed input. `resumeResults` goes on with a
 * conversation saved at a gate: its last message is the assistant's, whose tool calls ran up to the gate (these
 * are their results); the rest run now, the gated one first.
 */
export async function converse(conversation: Conversation, env: LoopEnv, resumeResults?: ToolResult[]): Promise<unknown> {
  const { role, tools, stopTool } = conversation;
  const byName = new Map(tools.map((t) => [t.name, t]));
  const specs = tools.map((t) => t.spec);
  let nudges = 0;
  const last = conversation.messages.at(-1);
  let pending: { calls: ToolCall[]; results: ToolResult[] } | null =
    resumeResults && last?.role === 'assistant' && last.toolCalls?.length ? { calls: last.toolCalls, results: [...resumeResults] } : null;
  for (;;) {
    if (!pending) {
      if (env.signal.aborted) throw new RunAborted('stopped by the user');
      env.budget.check();
      fitContext(conversation.messages, env.model.contextWindow);
      const response = await env.model
        .complete({ role, system: conversation.system, messages: conversation.messages, tools: specs }, { signal: env.signal })
        .catch((error: unknown) => {
          if (env.signal.aborted || (error instanceof ModelError && error.kind === 'aborted')) {
            throw new RunAborted('stopped by the user');
          }
          throw error;
        });
      env.budget.add(response);
      await env.emit({
        type: 'model_call',
        role,
        step: env.budget.steps,
        inputTokens: response.usage.inputTokens,
        outputTokens: response.usage.outputTokens,
        costUsd: response.costUsd,
      });
      conversation.messages.push({ role: 'assistant', content: response.text, toolCalls: response.toolCalls });
      if (response.text.trim()) await env.emit({ type: 'text', role, text: response.text });

      if (response.toolCalls.length === 0) {
        nudges++;
        if (nudges >= MAX_NUDGES) {
          throw new Escalation(
            `The ${role} stopped calling tools ${nudges} times in a row without calling ${stopTool}. Last words: "${response.text.slice(0, 300)}". How should it proceed?`,
            'stuck',
          );
        }
        conversation.messages.push({
          role: 'user',
          content: `Continue by calling a tool. When you are done, call ${stopTool}.`,
        });
        continue;
      }
      nudges = 0;
      pending = { calls: response.toolCalls, results: [] };
    }

    const { results } = pending;
    const step = env.budget.steps;
    let stopped: { input: unknown } | null = null;
    for (const call of pending.calls.slice(results.length)) {
      await env.emit({ type: 'tool_call', role, step, tool: call.name, input: call.input ?? null });
      const tool = byName.get(call.name);
      let output: string;
      let display: string;
      let isError = false;
      if (call.inputError !== undefined) {
        output = `The arguments of your ${call.name} call could not be used: ${call.inputError}. Call it again with valid JSON arguments that match its schema.`;
        display = `malformed arguments for ${call.name}`;
        isError = true;
      } else if (!tool) {
        output = `There is no tool named "${call.name}". Available tools: ${[...byName.keys()].join(', ')}.`;
        display = `unknown tool ${call.name}`;
        isError = true;
      } else if (tool.kind === 'control') {
        try {
          const parsed = tool.parse(call.input);
          if (tool.name === stopTool) stopped = { input: parsed };
          output = 'Received.';
          display = `${tool.name}`;
        } catch (error) {
          if (!(error instanceof ToolInputError)) throw error;
          output = error.message;
          display = error.message;
          isError = true;
        }
      } else {
        let outcome: Awaited<ReturnType<Tool['invoke']>>;
        try {
          outcome = await tool.invoke(call.input, env.toolContext);
        } catch (error) {
          // The run rests at a gate in the middle of this message: keep where it stands, to go on from here.
          if (error instanceof AwaitingApproval) error.conversation = { role: role === 'planner' ? 'planner' : 'coder', messages: conversation.messages, results: [...results] };
          throw error;
        } finally {
          if (tool.kind !== 'read') env.toolContext.changed?.();
        }
        ({ forModel: output, display } = outcome);
        isError = outcome.isError === true;
      }
      if (env.signal.aborted) throw new RunAborted('stopped by the user');
      results.push({ callId: call.id, name: call.name, output, isError });
      await env.emit({ type: 'tool_result', role, step, tool: call.name, ok: !isError, summary: display });
      if (!stopped) conversation.supervisor.record(call.name, call.input, output, isError);
    }
    conversation.messages.push({ role: 'tool', results });
    pending = null;
    await conversation.onExchange?.(conversation.messages);
    if (stopped) return stopped.input;
  }
}
