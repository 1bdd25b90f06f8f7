/**
 * Evaluation instances in SWE-bench's JSONL format, one object a line. A bad line becomes an error entry
 * with its reason, never a reason to stop: the other instances go on.
 */
import { z } from 'zod';

export interface EvalInstance {
  instance_id: string;
  /** A git URL, a local path (relative paths are resolved from the instances file's folder) or `owner/name`. */
  repo: string;
  base_commit: string;
  problem_statement: string;
  test_patch: string;
  FAIL_TO_PASS: string[];
  PASS_TO_PASS: string[];
  /** The upstream fix: kept for reference, never shown to the agent. */
  patch?: string;
  test_cmd?: string;
  setup_cmd?: string;
}

/** One line of the file: an instance, or why it cannot be one. */
export type InstanceEntry =
  | { kind: 'instance'; line: number; instance: EvalInstance }
  | { kind: 'invalid'; line: number; instance_id: string; reason: string };

/** Instance ids name folders under --out: letters, digits, ".", "_", "-" (SWE-bench's ids all fit). */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** SWE-bench ships test lists as JSON strings of lists; hand-written files use real lists. Both are accepted. */
const testList = z.unknown().transform((value, ctx): string[] => {
  const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every((t) => typeof t === 'string');
  if (isList(value)) return value;
  if (typeof value !== 'string') {
    ctx.addIssue({ code: 'custom', message: value === undefined ? 'is missing' : 'is not a list of test names' });
    return z.NEVER;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is a string that is not a JSON list of test names' });
    return z.NEVER;
  }
  if (!isList(parsed)) {
    ctx.addIssue({ code: 'custom', message: 'is a JSON string but not a list of test names' });
    return z.NEVER;
  }
  return parsed;
});

const optionalText = z
  .string()
  .nullish()
  .transform((v) => (v && v.trim() ? v : undefined));

const instanceSchema = z.object({
  instance_id: z.string().regex(ID_PATTERN, 'may only hold letters, digits, ".", "_" and "-" (it names a folder)').refine((v) => !v.includes('..'), 'may not contain ".."'),
  repo: z.string().trim().min(1, 'is empty'),
  base_commit: z.string().trim().regex(/^[0-9a-fA-F]{4,64}$/, 'is not a commit id (hex)'),
  problem_statement: z.string().refine((v) => v.trim().length > 0, 'is empty'),
  test_patch: z.string().refine((v) => /^(diff --git |--- )/m.test(v), 'is not a unified diff'),
  FAIL_TO_PASS: testList.refine((v) => v.length > 0, 'is empty: an instance needs at least one test that the fix makes pass'),
  PASS_TO_PASS: z.preprocess((v) => v ?? [], testList),
  patch: optionalText,
  test_cmd: optionalText,
  setup_cmd: optionalText,
});

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const field = issue.path.join('.') || '(line)';
      const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
      return missing ? `${field} is missing` : `${field} ${issue.message.replace(/^Invalid input: /, '')}`;
    })
    .join('; ');
}

/** Parses one line; `line` is 1-based, for messages. */
export function parseInstanceLine(text: string, line: number): InstanceEntry {
  const fallbackId = `line-${line}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: 'invalid', line, instance_id: fallbackId, reason: `line ${line} is not valid JSON (${(error as Error).message})` };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    return { kind: 'invalid', line, instance_id: fallbackId, reason: `line ${line} is not a JSON object` };
  }
  const rawId = (json as { instance_id?: unknown }).instance_id;
  const instance_id = typeof rawId === 'string' && ID_PATTERN.test(rawId) && !rawId.includes('..') ? rawId : fallbackId;
  const parsed = instanceSchema.safeParse(json);
  if (!parsed.success) {
    return { kind: 'invalid', line, instance_id, reason: `line ${line}: ${describeIssues(parsed.error)}` };
  }
  const { patch, test_cmd, setup_cmd, ...rest } = parsed.data;
  const instance: EvalInstance = {
    ...rest,
    base_commit: rest.base_commit.toLowerCase(),
    ...(patch ? { patch } : {}),
    ...(test_cmd ? { test_cmd } : {}),
    ...(setup_cmd ? { setup_cmd } : {}),
  };
  return { kind: 'instance', line, instance };
}

/** Every non-blank line of a JSONL file; a repeated instance_id makes the later line an error. */
export function parseInstances(text: string): InstanceEntry[] {
  const entries: InstanceEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    const entry = parseInstanceLine(raw, i + 1);
    const id = entryId(entry);
    if (seen.has(id)) {
      entries.push({
        kind: 'invalid',
        line: entry.line,
        instance_id: `line-${entry.line}`,
        reason: `line ${entry.line}: instance_id ${id} was already used on an earlier line`,
      });
      return;
    }
    seen.add(id);
    entries.push(entry);
  });
  return entries;
}

export function entryId(entry: InstanceEntry): string {
  return entry.kind === 'instance' ? entry.instance.instance_id : entry.instance_id;
}
