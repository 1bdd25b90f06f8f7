/**
 * `slipway ledger <run|pr> [--verify] [--json]`: a run's decisions as the hash-chained ledger, and a check
 * of that chain against the copies of its head kept outside the database (the PR body, the git note).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  anchorOf,
  checkAnchor,
  findChainBreak,
  LEDGER_NOTES_REF,
  parseLedgerLine,
  parseLedgerNotes,
  short,
  type ChainBreak,
  type ExternalAnchor,
  type LedgerNote,
} from '../policy/ledger.js';
import type { LedgerEntry, PullRequest, RunRecord, RunStore } from '../protocol/index.js';
import { git } from '../workspace/index.js';
import { slipwayHome } from './home.js';
import type { Output } from './output.js';
import { NotFoundError } from './records.js';

export interface LedgerFlags {
  verify?: boolean;
  json?: boolean;
}

export async function ledgerCommand(id: string, flags: LedgerFlags, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const { openSqliteStore } = await import('../store/index.js');
  const store = await openSqliteStore(path.join(slipwayHome(env), 'slipway.db'));
  try {
    const { run, pr } = await resolve(store, id);
    const entries = await store.listLedger(run.id);
    if (flags.verify) return await verify(run, pr, entries, out, flags.json === true);
    if (flags.json) {
      out.stdout(JSON.stringify(entries));
      return 0;
    }
    const { length, head } = anchorOf(entries);
    out.stdout(`ledger of run ${run.id}${pr ? ` (${pr.id})` : ''}: ${length} entries, head ${head}`);
    for (const e of entries) {
      const d = e.decision;
      out.stdout(`${String(e.seq).padStart(3)}  ${d.by.padEnd(6)}  ${d.autonomous ? 'autonomous' : 'escalated '}  ${d.action}: ${d.reason}`);
      if (d.evidence) out.stdout(`${' '.repeat(29)}evidence: ${d.evidence}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** A pull request id names its run; a run id names itself (and its pull request, when it has one). */
async function resolve(store: RunStore, id: string): Promise<{ run: RunRecord; pr: PullRequest | undefined }> {
  let pr = id.startsWith('pr-') ? await store.getPullRequest(id) : undefined;
  const run = await store.getRun(pr ? pr.run : id);
  if (!run) {
    throw new NotFoundError(
      `No run or pull request "${id}". List runs with: slipway log --list, and pull requests with: slipway pr list`,
    );
  }
  if (!pr && run.prId) pr = await store.getPullRequest(run.prId);
  return { run, pr };
}

interface AnchorReport extends ExternalAnchor {
  matches: boolean;
  /** Entries recorded after the anchor was written (not a break). */
  after: number;
}

async function verify(run: RunRecord, pr: PullRequest | undefined, entries: LedgerEntry[], out: Output, json: boolean): Promise<number> {
  const warnings: string[] = [];
  const anchors: ExternalAnchor[] = [];
  const notes = await findNotes(run, pr);
  if (notes.problem) warnings.push(notes.problem);
  for (const n of notes.found) anchors.push({ length: n.length, head: n.head, source: `the git note on ${n.commit.slice(0, 10)} in ${run.repo}` });
  if (pr) {
    const line = parseLedgerLine(pr.body);
    if (line) anchors.push({ ...line, source: `the body of pull request ${pr.id}` });
    if (pr.ledger) anchors.push({ ...pr.ledger, source: `the record of pull request ${pr.id}` });
    if (!line && !pr.ledger) warnings.push(`pull request ${pr.id} carries no ledger line (opened before the ledger, or its body was edited)`);
  }

  const chainBreak = findChainBreak(run.id, entries);
  const reports: AnchorReport[] = anchors.map((a) => {
    const problem = checkAnchor(entries, a);
    return { ...a, matches: problem === null, after: problem === null ? entries.length - a.length : 0 };
  });
  const problems: ChainBreak[] = [
    ...(chainBreak ? [chainBreak] : []),
    ...anchors.map((a) => checkAnchor(entries, a)).filter((p): p is ChainBreak => p !== null),
  ];
  // The chain's own break names the entry most precisely; otherwise the earliest entry an anchor points at.
  const first = chainBreak ?? [...problems].sort((a, b) => a.seq - b.seq)[0];
  const { length, head } = anchorOf(entries);

  if (json) {
    out.stdout(
      JSON.stringify({
        run: run.id,
        pr: pr?.id ?? null,
        intact: first === undefined,
        length,
        head,
        ...(first ? { broken: first } : {}),
        problems,
        anchors: reports,
        warnings,
      }),
    );
    return first ? 1 : 0;
  }
  if (first) {
    out.stdout(`ledger of run ${run.id} is BROKEN at entry ${first.seq}: ${first.problem}`);
    for (const p of problems) if (p !== first) out.stdout(`  also: ${p.problem}`);
  } else {
    out.stdout(`intact (${length} entries, head ${head})`);
    if (chainBreak === null) out.stdout(`  every entry hashes to what it records and follows the one before it`);
    for (const r of reports) {
      if (!r.matches) continue;
      out.stdout(`  matches ${r.source} (${r.length} entries, head ${short(r.head)})${r.after ? `; ${r.after} entries recorded after it` : ''}`);
    }
    if (reports.length === 0) out.stdout('  no copy of the head outside the database to compare with (no pull request, no git note)');
  }
  for (const w of warnings) out.stdout(`  note: ${w}`);
  return first ? 1 : 0;
}

/**
 * The run's notes in refs/notes/slipway of its repository: first on the commits it is expected on (the
 * PR's head, the branch's head), then, if none is there, on any commit (the branch may have moved on).
 */
async function findNotes(run: RunRecord, pr: PullRequest | undefined): Promise<{ found: Array<LedgerNote & { commit: string }>; problem?: string }> {
  if (!existsSync(run.repo)) return { found: [], problem: `the repository ${run.repo} is not there, so its git note was not checked` };
  const opts = { cwd: run.repo, allowFailure: true };
  const notesOn = async (commit: string) => {
    const shown = await git(['notes', `--ref=${LEDGER_NOTES_REF}`, 'show', commit], opts);
    return shown.exitCode === 0 ? parseLedgerNotes(shown.stdout).filter((n) => n.run === run.id).map((n) => ({ ...n, commit })) : [];
  };
  const candidates = new Set<string>();
  if (pr) candidates.add(pr.head);
  if (run.branch) {
    const head = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${run.branch}^{commit}`], opts);
    if (head.exitCode === 0) candidates.add(head.stdout.trim());
  }
  for (const commit of candidates) {
    const found = await notesOn(commit);
    if (found.length) return { found };
  }
  const list = await git(['notes', `--ref=${LEDGER_NOTES_REF}`, 'list'], opts);
  if (list.exitCode !== 0) return { found: [], problem: `could not read the git notes of ${run.repo}: ${list.stderr.trim()}` };
  for (const line of list.stdout.split('\n')) {
    const commit = line.trim().split(/\s+/)[1];
    if (!commit || candidates.has(commit)) continue;
    const found = await notesOn(commit);
    if (found.length) return { found };
  }
  const expected = pr !== undefined || run.status === 'escalated';
  return { found: [], ...(expected ? { problem: `no git note for run ${run.id} in ${run.repo} (${LEDGER_NOTES_REF})` } : {}) };
}
