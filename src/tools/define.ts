/**
 * One way to define a tool: zod parameters, an execute function, and a wrapper that validates input,
 * turns schema errors into messages the model can act on, and truncates output.
 */
import { z } from 'zod';
import type { CommandRunner, JsonSchema, PolicyCheck, PolicyDecision, PolicyKind, TestRunResult, ToolSpec } from '../protocol/index.js';

/** What a tool may touch, so policy can reason about it. */
export type ToolKind = 'read' | 'mutate' | 'exec' | 'control';

export interface ToolContext {
  /** Absolute, real path of the clone: every path argument resolves inside it. */
  root: string;
  runner: CommandRunner;
  signal: AbortSignal;
  commandTimeoutMs: number;
  /** Runs the repository's test command; absent when no test command was found. */
  runTests?: () => Promise<TestRunResult>;
  /** Consulted before reading, writing or running anything; absent: everything in the clone is allowed. */
  policy?: PolicyCheck;
  /**
   * Puts an action a rule answers `ask` to a person (a durable gate) and resolves with the answer; it may
   * throw to end the run while the gate waits. Absent: an `ask` is refused, as nobody can be asked.
   */
  ask?: (request: AskRequest) => Promise<{ approved: true } | { approved: false; reason: string }>;
  /** Called after every tool that may have changed the clone (all but the read tools) has run. */
  changed?: () => void;
  /** Network for the agent's commands (request_network); absent: commands never get network. */
  network?: {
    /** What the policy's network rules say about host:port. */
    evaluate(host: string, port: number): PolicyDecision;
    /** Lets the agent's commands reach host:port for the rest of the run; false when this run cannot. */
    grant(host: string, port: number): Promise<boolean>;
  };
}

export interface AskRequest {
  kind: PolicyKind;
  subject: string;
  /** The subject as the model wrote it, for messages. */
  shown: string;
  /** The rule that said ask, described for people. */
  rule: string;
}

export interface ToolOutcome {
  /** What the model reads. */
  forModel: string;
  /** A one-line summary for people (progress, event log). */
  display: string;
  isError?: boolean;
}

/** An error the model can recover from: it goes back as the tool's result, not up the stack. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

export interface Tool {
  name: string;
  kind: ToolKind;
  spec: ToolSpec;
  /** Validates raw model input, runs, and never throws a recoverable error. */
  invoke(input: unknown, ctx: ToolContext): Promise<ToolOutcome>;
  /** Parses input for control tools (finish, submit_plan, ...); throws ToolInputError. */
  parse(input: unknown): unknown;
}

const MAX_MODEL_OUTPUT = 30_000;

export function defineTool<S extends z.ZodObject>(def: {
  name: string;
  kind: ToolKind;
  description: string;
  params: S;
  execute(args: z.infer<S>, ctx: ToolContext): Promise<ToolOutcome>;
}): Tool {
  const inputSchema = z.toJSONSchema(def.params) as JsonSchema;
  delete inputSchema.$schema;
  const parse = (input: unknown): z.infer<S> => {
    const result = def.params.safeParse(input ?? {});
    if (!result.success) {
      const problems = result.error.issues
        .map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`)
        .join('; ');
      throw new ToolInputError(`Invalid arguments for ${def.name}: ${problems}. Fix the arguments and call it again.`);
    }
    return result.data;
  };
  return {
    name: def.name,
    kind: def.kind,
    spec: { name: def.name, description: def.description.trim(), inputSchema },
    parse,
    async invoke(input, ctx) {
      try {
        const outcome = await def.execute(parse(input), ctx);
        return { ...outcome, forModel: clip(outcome.forModel) };
      } catch (error) {
        if (error instanceof ToolInputError) {
          return { forModel: error.message, display: error.message.split('\n')[0]!, isError: true };
        }
        throw error;
      }
    },
  };
}

/** Keeps head and tail of long text so the model sees both the start and the end. */
export function clip(text: string, max = MAX_MODEL_OUTPUT): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n… [${text.length - max} characters omitted] …\n${text.slice(-half)}`;
}
