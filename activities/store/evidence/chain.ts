// Verifying a task's chain: every envelope signed by a trusted key (the orchestrator's, or one it
// retired), seq contiguous from 1, each `previous` the digest of the envelope before, nothing past
// what the workflow says it wrote, and an approval signed by a key-channel approver checked against
// that approver's configured key. Pure: the CLI and the bundle check both run it.
import { decisionSignedBy } from '../../../workflows/policy/signatures.ts';
import type { SignedDecision } from '../../../workflows/task/messages.ts';
import { envelopeDigest, openEnvelope, type Envelope } from './dsse.ts';
import { proves } from './proves.ts';
import { partsOf, type Link } from './statement.ts';

/** One stored link: its envelope, and what the store says about it (columns a tamperer may edit too). */
export interface StoredLink {
  envelope: Envelope;
  seq: number;
  key?: string;
  kind?: string;
  step?: string;
  digest?: string;
  /** Still in the host's spool, not yet in Postgres. */
  spooled?: boolean;
}

export interface LinkReport {
  seq: number;
  kind: string;
  step: string;
  key: string;
  digest: string;
  keyId?: string;
  spooled: boolean;
  proves: string;
  /** Why this link does not verify; absent when it does. */
  problem?: string;
}

export interface ChainReport {
  ok: boolean;
  links: LinkReport[];
  /** Every break, each naming its link. */
  problems: string[];
  /** What was not checked, and why (not a failure). */
  notes: string[];
}

export interface ChainExpectations {
  taskId: string;
  runKey: string;
  /** Trusted public keys: the orchestrator's and `keys.retired`. */
  trusted: readonly string[];
  /** What the workflow's state says it wrote, when the workflow could be asked. */
  head?: { seq: number; digest?: string };
  /** Approvers' public keys by name, for decisions signed on the `key` channel. */
  approverKeys?: Record<string, string | undefined>;
}

export function verifyChain(stored: readonly StoredLink[], want: ChainExpectations): ChainReport {
  const links: LinkReport[] = [];
  const problems: string[] = [];
  const notes: string[] = [];
  let expect = 1;
  // Each signed seq's digest: a link's previous is checked against the link signed one before it.
  const digests = new Map<number, string>();
  for (const row of stored) {
    const digest = envelopeDigest(row.envelope);
    const opened = openEnvelope(row.envelope, want.trusted);
    const parts = partsOf(opened.statement);
    const link: Partial<Link> = parts?.link ?? {};
    const report: LinkReport = {
      seq: row.seq,
      kind: link.kind ?? row.kind ?? '?',
      step: link.step ?? row.step ?? '?',
      key: link.key ?? row.key ?? '?',
      digest,
      spooled: !!row.spooled,
      proves: parts ? proves(parts.link, parts.record) : 'nothing: not a swarmflow statement',
    };
    if (opened.ok) report.keyId = opened.keyId;
    const previous = typeof link.seq === 'number' ? (digests.get(link.seq - 1) ?? null) : null;
    const seen = typeof link.seq === 'number' && digests.has(link.seq);
    const problem = linkProblem(row, opened, link, { expect, previous, digest, seen, want });
    // The approver's proof is checked on its own: a link whose place is broken may still carry a forged approval.
    const approval = opened.ok && parts ? approvalProblem(parts.record, want, notes, row.seq) : undefined;
    for (const p of [problem, approval]) {
      if (!p) continue;
      report.problem = report.problem ? `${report.problem}; ${p}` : p;
      problems.push(`seq ${row.seq}: ${p}`);
    }
    links.push(report);
    if (typeof link.seq === 'number') {
      expect = Math.max(expect, link.seq + 1);
      digests.set(link.seq, digest);
    } else expect += 1;
  }
  const last = links.at(-1);
  if (want.head) {
    if (want.head.seq > (last?.seq ?? 0)) problems.push(`the chain is cut: the workflow wrote ${want.head.seq} link(s), the store has ${last?.seq ?? 0}${last ? ` (seq ${last.seq + 1}${want.head.seq > last.seq + 1 ? `–${want.head.seq}` : ''} missing)` : ''}`);
    else if (want.head.seq < (last?.seq ?? 0)) problems.push(`seq ${want.head.seq + 1}–${last!.seq}: the workflow wrote only ${want.head.seq} link(s)`);
    else if (want.head.digest && last && last.digest !== want.head.digest) problems.push(`seq ${last.seq}: its digest is not the one the workflow recorded as the chain's head`);
  } else {
    notes.push('the end of the chain was not checked against the workflow (not reachable, or a bundle)');
  }
  if (stored.length === 0) problems.push('no signed evidence for this task');
  return { ok: problems.length === 0, links, problems, notes };
}

function linkProblem(
  row: StoredLink,
  opened: ReturnType<typeof openEnvelope>,
  link: Partial<Link>,
  at: { expect: number; previous: string | null; digest: string; seen: boolean; want: ChainExpectations },
): string | undefined {
  if (!opened.ok) return `${opened.problem}`;
  if (typeof link.seq !== 'number') return 'its statement carries no chain link';
  if (link.taskId !== at.want.taskId || link.runKey !== at.want.runKey) return `its statement is of task ${link.taskId} (run ${link.runKey || '-'}), not ${at.want.taskId} (run ${at.want.runKey || '-'})`;
  if (link.seq !== row.seq) return `the store's seq ${row.seq} holds the statement signed as seq ${link.seq}: records swapped or renumbered`;
  if (link.seq > at.expect) return `seq ${at.expect}${link.seq - 1 > at.expect ? `–${link.seq - 1}` : ''} missing before it`;
  if (link.seq < at.expect) return at.seen ? `seq ${link.seq} appears twice` : `out of order: it comes after seq ${at.expect - 1}`;
  if ((link.previous ?? null) !== at.previous) return `its previous does not match seq ${link.seq - 1}${link.seq === 1 ? ' (seq 1 names none)' : ''}: a link before it was changed, removed or reordered`;
  for (const field of ['key', 'kind', 'step'] as const) {
    if (row[field] !== undefined && row[field] !== link[field]) return `the store's ${field} (${row[field]}) differs from the signed one (${link[field]})`;
  }
  if (row.digest !== undefined && row.digest !== at.digest) return `the store's digest differs from the envelope's (${at.digest})`;
  return undefined;
}

/**
 * The approver's own proof inside the approval: a decision signed with their key (channel `key`)
 * must verify against that approver's configured key; one relayed from Telegram, against the
 * orchestrator's (a trusted key), which signed the press its bot saw.
 */
function approvalProblem(record: Record<string, unknown>, want: ChainExpectations, notes: string[], seq: number): string | undefined {
  const decision = record.decision as { decision?: 'approve' | 'reject'; by?: string; signed?: SignedDecision } | undefined;
  const signed = decision?.signed;
  if (!decision || !signed || (signed.channel !== 'key' && signed.channel !== 'telegram')) return undefined;
  if (signed.taskId !== want.taskId) return `the approval is signed for task ${signed.taskId}`;
  const signedBy = (key: string) => decisionSignedBy(key, decision.decision ?? 'approve', signed);
  if (signed.channel === 'telegram') {
    return want.trusted.some(signedBy) ? undefined : `the orchestrator's signature on ${decision.by}'s Telegram decision does not verify`;
  }
  const key = want.approverKeys?.[decision.by ?? ''];
  if (!key) {
    notes.push(`seq ${seq}: ${decision.by ?? 'the approver'} signed the decision, but the configuration has no public key for them: the approver's signature was not checked`);
    return undefined;
  }
  return signedBy(key) ? undefined : `the approver ${decision.by}'s signature on the decision does not verify with their configured key`;
}
