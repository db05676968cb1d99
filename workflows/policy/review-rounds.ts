// Review rounds: reviewers' findings merged across reviewers, fingerprinted, and counted round by
// round so that a finding fixed at a new head is gone, one still present counts once, and
// reviewers cannot keep a task alive forever (limits.maxReviewRounds). Pure and deterministic.
import type { Finding, ReviewVerdict } from '../task/types.ts';
import { listOf, shortSha } from './text.ts';

export type Severity = Finding['severity'];
const RANK: Record<Severity, number> = { critical: 3, major: 2, minor: 1 };

/** One problem, as one or more reviewers saw it at one place. */
export interface MergedFinding {
  /** Stable across heads: the file and what the problem is, not where its line moved to. */
  fingerprint: string;
  severity: Severity;
  file: string;
  line: number;
  /** The message of the most severe report. */
  message: string;
  /** Every reviewer that reported it, with what each said. */
  reviewers: string[];
  reports: Array<{ reviewer: string; severity: Severity; message: string }>;
}

export interface ReviewRounds {
  /** Rounds whose open findings included a blocking one. */
  blockingRounds: number;
  headSha: string;
  /** The findings present at `headSha`. */
  open: MergedFinding[];
  /** Fingerprints found at an earlier head and absent at a later one: fixed. */
  fixed: string[];
  /** Of `open`: seen for the first time (or again after they were fixed) in this round. */
  new: string[];
}

/**
 * The file plus the message with what varies between two reports of the same problem taken out:
 * case, numbers (line numbers, counts), quoted text and spacing. The line is left out on purpose:
 * an unrelated edit above a finding moves it, and it is still the same finding.
 */
export function fingerprint(f: Pick<Finding, 'file' | 'message'>): string {
  const message = f.message
    .toLowerCase()
    .replace(/(["'`])(?:(?!\1).)*\1/g, '"…"')
    .replace(/\d+/g, '#')
    .replace(/[^\p{L}\p{N}#"…]+/gu, ' ')
    .trim();
  return `${f.file}#${fnv1a(`${f.file}\n${message}`)}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: small, deterministic, no crypto in workflow code. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** Findings about the same file and line, or the same problem, from several reviewers become one. */
export function mergeFindings(verdict: ReviewVerdict): MergedFinding[] {
  const merged: MergedFinding[] = [];
  for (const result of verdict.results) {
    for (const f of result.findings) {
      const print = fingerprint(f);
      const same = merged.find((m) => (m.file === f.file && m.line === f.line) || m.fingerprint === print);
      if (!same) {
        merged.push({ fingerprint: print, severity: f.severity, file: f.file, line: f.line, message: f.message, reviewers: [result.reviewer], reports: [{ reviewer: result.reviewer, severity: f.severity, message: f.message }] });
        continue;
      }
      same.reports.push({ reviewer: result.reviewer, severity: f.severity, message: f.message });
      if (!same.reviewers.includes(result.reviewer)) same.reviewers.push(result.reviewer);
      if (RANK[f.severity] > RANK[same.severity]) Object.assign(same, { severity: f.severity, message: f.message });
    }
  }
  return merged;
}

/** The next round's bookkeeping, from the previous one and the verdict at a new head. */
export function nextRound(previous: ReviewRounds | undefined, verdict: ReviewVerdict, block: Severity[]): ReviewRounds {
  const open = mergeFindings(verdict);
  const before = new Set((previous?.open ?? []).map((f) => f.fingerprint));
  const now = new Set(open.map((f) => f.fingerprint));
  // The same head reviewed again (a re-verification) is the same round, not a new one.
  const sameHead = previous?.headSha === verdict.headSha;
  const fixed = [...(previous?.fixed ?? []).filter((p) => !now.has(p)), ...[...before].filter((p) => !now.has(p))];
  const blocks = (findings: MergedFinding[]) => findings.some((f) => block.includes(f.severity));
  const counted = blocks(open) && !(sameHead && blocks(previous.open));
  return {
    blockingRounds: (previous?.blockingRounds ?? 0) + (counted ? 1 : 0),
    headSha: verdict.headSha,
    open,
    fixed: [...new Set(fixed)],
    new: open.map((f) => f.fingerprint).filter((p) => !before.has(p)),
  };
}

export const blockingFindings = (rounds: ReviewRounds, block: Severity[]) => rounds.open.filter((f) => block.includes(f.severity));

/** What the human is told once the rounds ran out: every open blocking finding, with who saw it. */
export function roundsExhausted(rounds: ReviewRounds, block: Severity[], limit: number): string {
  const open = blockingFindings(rounds, block).map((f) => `${f.file}:${f.line} ${f.severity} (${f.reviewers.join(', ')}): ${f.message}`);
  return `${rounds.blockingRounds} review round(s) with ${block.join('/')} findings (limit ${limit}); open at ${shortSha(rounds.headSha)}: ${listOf(open, 10)}`;
}
