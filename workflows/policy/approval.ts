// Who may decide a task's merge, and whether a decision proves it: pure and deterministic, run by
// the task workflow's handlers (so every refusal is in the task's history) and by `swarm verify`.
// A decision counts only from a listed approver, through a channel that authenticated them, for
// this task and the PR head they saw: a new head needs a new decision.
import type { SignedDecision } from '../task/messages.ts';
import type { ApproverIdentity, HumanReviews } from '../task/types.ts';
import { decisionSignedBy, keyIdOf } from './signatures.ts';

/** What a decision is checked against: the task's approvers and rules, and the head it must be bound to. */
export interface DecisionAuthority {
  taskId: string;
  /** The PR head a decision must name; '' while the task has no PR (only a rejection can come then). */
  headSha: string;
  approvers: ApproverIdentity[];
  /** Relays Telegram presses: its signature proves the bot saw that Telegram user press the button. */
  orchestratorPublicKey: string;
  /** Who asked for the task (its spec's requestedBy): an approver name or a GitHub login. */
  requestedBy?: string;
  requesterMayApprove: boolean;
  /** The workflow's clock and how far ahead of it a signer's may be. */
  nowMs: number;
  maxClockSkewMs: number;
}

export interface DecisionClaimed {
  decision: 'approve' | 'reject';
  by: string;
  signed?: SignedDecision;
}

/** How a task set up before approvers had identities lists them: names only. */
export const approverIdentities = (approvers: Array<string | ApproverIdentity>): ApproverIdentity[] => approvers.map((a) => (typeof a === 'string' ? { name: a } : a));

const short = (sha: string) => (sha ? sha.slice(0, 12) : '(no PR yet)');

/** Why this approver may not approve this task alone, or undefined. */
function requesterProblem(approver: ApproverIdentity, authority: DecisionAuthority): string | undefined {
  const { requestedBy, requesterMayApprove } = authority;
  if (!requestedBy || requesterMayApprove) return undefined;
  if (requestedBy !== approver.name && requestedBy !== approver.github) return undefined;
  return `${approver.name} requested this task and cannot approve it alone: another approver must (approvals.requesterMayApprove)`;
}

/** Why a signed decision does not prove that `by` made it for this task and head, or undefined. */
export function decisionProblem(d: DecisionClaimed, authority: DecisionAuthority): string | undefined {
  const approver = authority.approvers.find((a) => a.name === d.by);
  if (!approver) return `${d.by} is not on the approvers list`;
  const s = d.signed;
  if (!s) return `the decision is not signed: decide with swarm ${d.decision} (it signs with ${d.by}'s key, see swarm keys create), on GitHub or on Telegram`;
  if (s.taskId !== authority.taskId) return `it was signed for task ${s.taskId}, not ${authority.taskId}`;
  if (s.headSha !== authority.headSha) return `it was signed for head ${short(s.headSha)}, but the PR's head is ${short(authority.headSha)}: a new head needs a new decision`;
  const at = Date.parse(s.at);
  if (Number.isNaN(at)) return `its time "${s.at}" is not an ISO 8601 time`;
  if (at > authority.nowMs + authority.maxClockSkewMs) return `it is dated ${s.at}, ahead of the task's clock by more than approvals.maxClockSkew`;
  if (s.channel === 'key') {
    if (!approver.publicKey) return `${d.by} has no public key in the configuration: run swarm keys create ${d.by} and add the key it prints to approvers`;
    if (!decisionSignedBy(approver.publicKey, d.decision, s)) {
      return `the signature is not by ${d.by}'s key (${keyIdOf(approver.publicKey)}) over this ${d.decision === 'approve' ? 'approval' : 'rejection'}: signed with another key, or changed after signing`;
    }
  } else if (s.channel === 'telegram') {
    if (approver.telegram === undefined || approver.telegram !== s.telegramUserId) return `Telegram user ${s.telegramUserId ?? '(none)'} is not ${d.by}'s Telegram id in the configuration`;
    if (!decisionSignedBy(authority.orchestratorPublicKey, d.decision, s)) return "the Telegram decision is not signed by this orchestrator's key";
  } else {
    return `unknown decision channel "${String((s as { channel: unknown }).channel)}"`;
  }
  return d.decision === 'approve' ? requesterProblem(approver, authority) : undefined;
}

/** An approval GitHub authenticated: an APPROVED review at the head by a listed approver's login. */
export interface GitHubApproval {
  approver: ApproverIdentity;
  login: string;
  reviewId?: number;
  submittedAt?: string;
}

/**
 * The approvals among the PR's human reviews, and the refusals (an APPROVED review at the head
 * whose author may not approve: not listed, or the requester alone). A review at an older head
 * approves nothing: it is not counted, nor refused (it was answered by the commits since).
 */
export function githubApprovals(reviews: HumanReviews, authority: DecisionAuthority): { approvals: GitHubApproval[]; refused: Array<{ login: string; reviewId?: number; reason: string }> } {
  const approvals: GitHubApproval[] = [];
  const refused: Array<{ login: string; reviewId?: number; reason: string }> = [];
  for (const r of reviews.reviews) {
    if (r.state !== 'APPROVED' || !r.atHead) continue;
    const approver = authority.approvers.find((a) => a.github !== undefined && a.github.toLowerCase() === r.author.toLowerCase());
    const reason = approver ? requesterProblem(approver, authority) : `GitHub user ${r.author} is not an approver's login in the configuration`;
    if (reason || !approver) refused.push({ login: r.author, reviewId: r.id, reason: reason ?? '' });
    else approvals.push({ approver, login: r.author, reviewId: r.id, submittedAt: r.submittedAt });
  }
  return { approvals, refused };
}
