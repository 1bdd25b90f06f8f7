/**
 * The pull request's markdown body (goal, plan, change, evidence, verdict and decisions), and the other
 * copy of the decision ledger's anchor that ships with the branch: a git note in the user's repository.
 */
import { anchorOf, formatLedgerLine, formatLedgerNote, LEDGER_NOTES_REF } from '../policy/ledger.js';
import type { Decision, LedgerAnchor, Plan, RunStore, TestCounts, TestEvidence, UsageTotals, Verification } from '../protocol/index.js';
import { git, withRepoLock } from '../workspace/index.js';

export interface PrBodyInput {
  goal: string;
  plan: Plan;
  summary: string;
  diffstat: string;
  tests: TestEvidence;
  verification: Verification;
  decisions: Decision[];
  /** The decision ledger's length and head when the PR was opened, and the PR's id to check it by. */
  ledger?: LedgerAnchor;
  prId?: string;
  usage: UsageTotals;
  model: string;
}

export function renderPrBody(i: PrBodyInput): string {
  const counts = (c: TestCounts | null, reason?: string) =>
    c ? `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped` : `not available${reason ? ` (${reason})` : ''}`;
  const newTests = i.tests.newTests.length
    ? i.tests.newTests
        .map((t) => `| \`${t.test}\` | ${t.file} | ${t.failedBefore ? 'failed ✔' : 'passed ✘'} | ${t.passedAfter ? 'passed ✔' : 'failed ✘'} |`)
        .join('\n')
    : '';
  const alone = i.decisions.filter((d) => d.autonomous);
  const escalated = i.decisions.filter((d) => !d.autonomous);
  const decision = (d: Decision) => `- **${d.action}** (${d.by}): ${d.reason}`;
  return [
    `## Goal\n${i.goal}`,
    `## Plan\n${i.plan.summary}\n\n${i.plan.steps.map((s, n) => `${n + 1}. ${s}`).join('\n')}`,
    `### Acceptance checks\n${i.plan.acceptance.map((s) => `- ${s}`).join('\n')}`,
    `## What changed\n${i.summary}\n\n\`\`\`\n${i.diffstat.replace(/\n+$/, "")}\n\`\`\``,
    [
      `## Test evidence`,
      i.tests.command ? `Command: \`${i.tests.command}\`` : 'No test command was found.',
      `- Before the change (base commit): ${counts(i.tests.before, i.tests.beforeReason)}`,
      `- After the change: ${counts(i.tests.after, i.tests.afterReason)}`,
      i.tests.newFailures.length ? `- New failures: ${i.tests.newFailures.join(', ')}` : '- No new failures.',
      newTests
        ? `\n| New test | File | Base commit + test only | With the change |\n|---|---|---|---|\n${newTests}`
        : `\nNo new test: ${i.tests.noTestReason ?? 'none given'}`,
    ].join('\n'),
    [
      `## Verification: ${i.verification.verdict.toUpperCase()} (round ${i.verification.round})`,
      ...i.verification.findings.map((f) => `- ${f.verdict === 'pass' ? '✔' : '✘'} ${f.check}: ${f.evidence}`),
    ].join('\n'),
    [
      `## Decisions`,
      `Taken alone:`,
      ...(alone.length ? alone.map(decision) : ['- none']),
      `Escalated to a person:`,
      ...(escalated.length ? escalated.map(decision) : ['- none']),
      ...(i.ledger ? ['', `${formatLedgerLine(i.ledger)} (check it with: slipway ledger ${i.prId ?? '<pr>'} --verify)`] : []),
    ].join('\n'),
    `---\nModel \`${i.model}\`: ${i.usage.modelCalls} calls, ${i.usage.inputTokens} input and ${i.usage.outputTokens} output tokens, $${i.usage.costUsd.toFixed(4)}. Opened by Slipway; nothing was merged.`,
  ].join('\n\n');
}

/**
 * Anchors the run's ledger outside the database: appends `{run, pr, length, head}` as a git note on the
 * branch's head commit in the user's repository (refs/notes/slipway), host-side with hooks disabled.
 * Appended, not overwritten: an escalated run that changed nothing shares its head with the base commit,
 * and so with other runs. Returns the anchor it wrote.
 * Appends are serialised per repository (withRepoLock).
 */
export async function anchorLedger(a: {
  store: RunStore;
  run: string;
  pr?: string;
  repo: string;
  commit: string;
  author: { name: string; email: string };
  /** The repository's common git folder, when the caller knows it or started looking it up (gitCommonDir). */
  gitDir?: string | Promise<string> | undefined;
}): Promise<LedgerAnchor> {
  const anchor = anchorOf(await a.store.listLedger(a.run));
  const note = formatLedgerNote({ run: a.run, ...(a.pr ? { pr: a.pr } : {}), ...anchor });
  const who = { GIT_AUTHOR_NAME: a.author.name, GIT_AUTHOR_EMAIL: a.author.email, GIT_COMMITTER_NAME: a.author.name, GIT_COMMITTER_EMAIL: a.author.email };
  // Runs shipping at once into one repository take turns: git would let one note overwrite another.
  await withRepoLock(a.repo, 'notes', () => git(['notes', `--ref=${LEDGER_NOTES_REF}`, 'append', '-m', note, a.commit], { cwd: a.repo, env: who }), undefined, a.gitDir === undefined ? undefined : Promise.resolve(a.gitDir));
  return anchor;
}
