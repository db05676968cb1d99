// The decision check the task workflow runs (workflows/policy/approval.ts), with real Ed25519 keys:
// each channel's proof, and what makes one fail.
import { describe, expect, it } from '@jest/globals';
import { generateSigningKey, signDecision, signText } from '../../lib/keys.ts';
import { decisionProblem, githubApprovals, type DecisionAuthority } from '../../workflows/policy/approval.ts';
import { decisionMessage } from '../../workflows/policy/signatures.ts';
import type { HumanReview } from '../../workflows/task/types.ts';

const HEAD = 'a'.repeat(40);
const alice = generateSigningKey();
const orchestrator = generateSigningKey();
const authority = (over: Partial<DecisionAuthority> = {}): DecisionAuthority => ({
  taskId: 't1',
  headSha: HEAD,
  approvers: [{ name: 'alice', publicKey: alice.publicKey, github: 'alice-gh', telegram: 4242 }, { name: 'bob' }],
  orchestratorPublicKey: orchestrator.publicKey,
  requesterMayApprove: false,
  nowMs: Date.parse('2026-12-03T10:00:00Z'),
  maxClockSkewMs: 300_000,
  ...over,
});
const at = '2026-12-03T09:59:00.000Z';
const telegram = (userId: number, key = orchestrator, decision: 'approve' | 'reject' = 'approve') => ({
  channel: 'telegram' as const,
  taskId: 't1',
  headSha: HEAD,
  at,
  telegramUserId: userId,
  signature: signText(key, decisionMessage({ channel: 'telegram', taskId: 't1', headSha: HEAD, decision, at, telegramUserId: userId })),
});

describe('decisionProblem', () => {
  it('accepts an approval or a rejection signed by the approver for this task and head', () => {
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'approve', at }) }, authority())).toBeUndefined();
    expect(decisionProblem({ decision: 'reject', by: 'alice', signed: signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'reject', at }) }, authority())).toBeUndefined();
  });

  it('refuses a signature whose claim was changed after signing (the head, the time)', () => {
    const signed = signDecision(alice, { taskId: 't1', headSha: 'b'.repeat(40), decision: 'approve', at });
    // Claims the current head, with the signature made for another: the signature no longer matches.
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: { ...signed, headSha: HEAD } }, authority())).toMatch(/^the signature is not by alice's key/);
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: { ...signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'approve', at }), at: '2026-12-03T09:59:01.000Z' } }, authority())).toMatch(
      /^the signature is not by alice's key/,
    );
  });

  it('takes a Telegram press relayed by the orchestrator only from the approver\'s own Telegram id and the orchestrator\'s key', () => {
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: telegram(4242) }, authority())).toBeUndefined();
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: telegram(777) }, authority())).toBe("Telegram user 777 is not alice's Telegram id in the configuration");
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: telegram(4242, generateSigningKey()) }, authority())).toBe("the Telegram decision is not signed by this orchestrator's key");
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: telegram(4242, orchestrator, 'reject') }, authority())).toBe("the Telegram decision is not signed by this orchestrator's key");
    // An approver's own key cannot pass for the orchestrator's relay.
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: telegram(4242, alice) }, authority())).toBe("the Telegram decision is not signed by this orchestrator's key");
  });

  it('refuses the requester alone, by name or GitHub login, unless the configuration allows it', () => {
    const signed = signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'approve', at });
    const refusal = 'alice requested this task and cannot approve it alone: another approver must (approvals.requesterMayApprove)';
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed }, authority({ requestedBy: 'alice' }))).toBe(refusal);
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed }, authority({ requestedBy: 'alice-gh' }))).toBe(refusal);
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed }, authority({ requestedBy: 'alice', requesterMayApprove: true }))).toBeUndefined();
    // The requester may still reject their own task.
    expect(decisionProblem({ decision: 'reject', by: 'alice', signed: signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'reject', at }) }, authority({ requestedBy: 'alice' }))).toBeUndefined();
  });

  it('refuses a time that is not one, or one too far ahead of the task\'s clock', () => {
    const signed = signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'approve', at: 'yesterday' });
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed }, authority())).toBe('its time "yesterday" is not an ISO 8601 time');
    const ahead = signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'approve', at: '2026-12-03T10:04:59.000Z' });
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: ahead }, authority())).toBeUndefined();
    const tooFar = signDecision(alice, { taskId: 't1', headSha: HEAD, decision: 'approve', at: '2026-12-03T10:05:01.000Z' });
    expect(decisionProblem({ decision: 'approve', by: 'alice', signed: tooFar }, authority())).toMatch(/ahead of the task's clock/);
  });
});

describe('githubApprovals', () => {
  const review = (author: string, over: Partial<HumanReview> = {}): HumanReview => ({ author, id: 7, state: 'APPROVED', submittedAt: at, commitId: HEAD, body: '', atHead: true, ...over });
  it("counts an APPROVED review at the head by an approver's login (case-insensitive, as GitHub logins are)", () => {
    const { approvals, refused } = githubApprovals({ reviews: [review('Alice-GH')], changesRequested: false }, authority());
    expect(approvals).toEqual([{ approver: expect.objectContaining({ name: 'alice' }), login: 'Alice-GH', reviewId: 7, submittedAt: at }]);
    expect(refused).toEqual([]);
  });
  it('ignores reviews at an older head and other states; refuses unlisted logins and the requester alone', () => {
    const reviews = [review('alice-gh', { atHead: false, commitId: 'c'.repeat(40) }), review('carol'), review('bob', { state: 'COMMENTED' })];
    expect(githubApprovals({ reviews, changesRequested: false }, authority())).toEqual({ approvals: [], refused: [{ login: 'carol', reviewId: 7, reason: "GitHub user carol is not an approver's login in the configuration" }] });
    expect(githubApprovals({ reviews: [review('alice-gh')], changesRequested: false }, authority({ requestedBy: 'alice' })).refused[0]?.reason).toMatch(/^alice requested this task/);
  });
});
