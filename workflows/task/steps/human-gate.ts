// Step 8a, the human gate: with the Definition of Done met, a human is asked once per verified
// head and reminded; while waiting, the gate looks at the PR every monitor interval (a new head, a
// moved base, a request for changes send it back through verification).
import { condition, patched } from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { TaskContext } from '../context.ts';
import { decisionAuthority, takeGitHubApproval } from '../authority.ts';
import { GATE_EARLY_EVENTS_PATCH, GATE_WATCH_PATCH } from '../patches.ts';
import { deliverRedirects } from '../redirects.ts';
import type { HumanReviews, PullRequest } from '../types.ts';
import { computeDod } from './gates.ts';
import { changesRequestedAtHead } from './review.ts';

export type GateOutcome = 'approved' | 'stopped' | 'reverify';

/** Waits for a decision with reminders; 'reverify' when the head must be verified again. */
export async function humanGate(ctx: TaskContext): Promise<GateOutcome> {
  const { state, spec } = ctx;
  // The gate asks only with a met DoD, looks again at the monitor interval, and a refused merge never fails the task.
  const watch = patched(GATE_WATCH_PATCH);
  if (watch) {
    const unmet = await unmetAtGate(ctx);
    if (unmet) return unmet;
  }
  ctx.enter('human_gate', 'awaiting_approval');
  // Events are counted from here: one that comes while the gate asks or looks is not lost.
  let counted = ctx.forgeEvents;
  const pr = state.checks.pr!;
  // Once per verified head, even across continue-as-new.
  const proven = !!decisionAuthority(ctx);
  if (state.approval?.headSha !== pr.headSha) {
    const how = proven ? `swarmflow approve ${spec.id} --by <you> (signed with your key), an approving GitHub review at this head, or Telegram` : `swarmflow approve ${spec.id} --by <you>`;
    await ctx.notify({ event: 'ready_for_approval', title: `Ready for approval: ${spec.title}`, message: `PR #${pr.number} at ${pr.headSha.slice(0, 12)} meets the Definition of Done. Approve with: ${how}`, link: pr.url });
    state.approval = { headSha: pr.headSha, requestedAt: ctx.now(), lastReminderAt: Date.now() };
    // An approver may have approved on GitHub before the gate asked.
    if (proven && (await githubApproved(ctx, pr))) return 'approved';
  }
  const approval = state.approval;
  const reminderMs = state.setup!.reminderIntervalMs;
  for (;;) {
    if (ctx.historyTooLong()) await ctx.carryOn();
    const untilReminder = Math.max(1, approval.lastReminderAt + reminderMs - Date.now());
    const early = patched(GATE_EARLY_EVENTS_PATCH);
    const seen = early ? counted : ctx.forgeEvents;
    const woke = await condition(
      () => !!state.decision || !!ctx.stop || ctx.pendingRedirects.length > 0 || ctx.forgeEvents !== seen,
      watch ? Math.min(untilReminder, msToNumber(spec.limits.monitorInterval)) : untilReminder,
      { summary: 'waiting for approval' },
    );
    // Patched: the events this round handles are those up to now; later ones wake the next wait.
    const handled = ctx.forgeEvents;
    counted = handled;
    const eventCame = () => (early ? handled !== seen : ctx.forgeEvents !== seen);
    await deliverRedirects(ctx);
    if (ctx.stop) return 'stopped';
    if (state.decision?.decision === 'approve') return 'approved';
    const remind = Date.now() - approval.lastReminderAt >= reminderMs;
    if (remind) {
      approval.lastReminderAt = Date.now();
      await ctx.notify({ event: 'approval_reminder', title: `Still waiting for approval: ${spec.title}`, message: `PR #${pr.number} has waited for approval since ${approval.requestedAt}.`, link: pr.url });
    }
    if (watch && (remind || eventCame() || !woke)) {
      const moved = await lookAgainAtGate(ctx, pr, remind || eventCame());
      if (moved) return moved;
    } else if (remind || eventCame()) {
      // The base may have moved while we waited: keep the branch in sync and verify again.
      const m = await ctx.host().quick.checkMergeable({ repository: spec.repository, number: pr.number });
      state.checks.mergeability = m;
      if (m.behindBy > 0 || !m.mergeable) {
        ctx.note(`${spec.baseBranch} moved (${m.behindBy} commit(s)): syncing and verifying again`);
        return 'reverify';
      }
      const human = await ctx.host().quick.humanReviews({ repository: spec.repository, number: pr.number, headSha: pr.headSha });
      state.checks.humanReviews = human;
      if (changesRequestedAtHead(human).length > 0) {
        ctx.note('a reviewer requested changes: verifying again');
        return 'reverify';
      }
    }
  }
}

/**
 * Why the gate may not ask for approval, as what to do: the DoD is recomputed; anything unmet but
 * the forge's own rules is verified again at once, the forge's rules wait for a human.
 */
async function unmetAtGate(ctx: TaskContext): Promise<'reverify' | 'stopped' | undefined> {
  const { state } = ctx;
  computeDod(ctx);
  const unmet = state.dod!.items.filter((i) => !i.ok && i.key !== 'human_approved');
  if (unmet.length === 0) return undefined;
  if (unmet.some((i) => i.key !== 'forge_rules')) {
    ctx.note(`the Definition of Done is not met (${unmet.map((i) => `${i.label}: ${i.detail}`).join('; ')}): verifying again`);
    return 'reverify';
  }
  return awaitForge(ctx, `PR #${state.checks.pr!.number} is not mergeable yet: ${unmet.map((i) => i.detail).join('; ')}`);
}

/**
 * At the gate, on every tick: a new head from elsewhere or a moved base sends the PR back through
 * verification (one activity a tick); on a forge event or a reminder, so does a request for changes.
 */
async function lookAgainAtGate(ctx: TaskContext, pr: PullRequest, reviews: boolean): Promise<GateOutcome | undefined> {
  const { state, spec } = ctx;
  const h = ctx.host();
  const m = await h.quick.checkMergeable({ repository: spec.repository, number: pr.number });
  if (m.headSha && m.headSha !== pr.headSha) {
    state.checks.pr = await h.quick.getPr({ repository: spec.repository, number: pr.number });
    computeDod(ctx);
    ctx.note(`the PR head moved to ${m.headSha.slice(0, 12)} (pushed from elsewhere): verifying it`);
    return 'reverify';
  }
  state.checks.mergeability = m;
  const unmet = await unmetAtGate(ctx);
  if (unmet) return unmet;
  // With proven decisions the reviews are read on every tick: a lost webhook does not lose a GitHub approval.
  const proven = !!decisionAuthority(ctx);
  if (reviews || proven) {
    const human = await readReviews(ctx, pr);
    if (changesRequestedAtHead(human).length > 0) {
      ctx.note('a reviewer requested changes: verifying again');
      return 'reverify';
    }
    if (proven && takeGitHubApproval(ctx, human)) return 'approved';
  }
  ctx.publish();
  return undefined;
}

async function readReviews(ctx: TaskContext, pr: PullRequest): Promise<HumanReviews> {
  const { state, spec } = ctx;
  state.checks.humanReviews = await ctx.host().quick.humanReviews({ repository: spec.repository, number: pr.number, headSha: pr.headSha });
  return state.checks.humanReviews;
}

/** An approver's APPROVED review at the head, on GitHub, is the decision. */
async function githubApproved(ctx: TaskContext, pr: PullRequest): Promise<boolean> {
  return takeGitHubApproval(ctx, await readReviews(ctx, pr));
}

/**
 * The forge will not merge until something only a human gives (a GitHub review, a rule): the task
 * says so and waits, looking again on forge events and at the monitor interval; met, or on
 * `retry`, the head is verified again.
 */
export async function awaitForge(ctx: TaskContext, blocker: string): Promise<'reverify' | 'stopped'> {
  const { state, spec } = ctx;
  ctx.retried = false;
  state.blocker = blocker;
  ctx.enter('human_gate', 'needs_human');
  ctx.note(`needs a human: ${blocker}`);
  await ctx.notify({ event: 'escalated', title: `Needs a human: ${spec.title}`, message: `${blocker}. The task goes on by itself once that is met; or: swarmflow retry ${spec.id} "<guidance>", or swarmflow abort ${spec.id}`, link: state.checks.pr?.url });
  const number = state.checks.pr!.number;
  for (;;) {
    if (ctx.historyTooLong()) await ctx.carryOn();
    const seen = ctx.forgeEvents;
    await condition(() => ctx.retried || !!ctx.stop || ctx.forgeEvents !== seen, spec.limits.monitorInterval, { summary: 'waiting for the forge' });
    if (ctx.stop) return 'stopped';
    if (ctx.retried) {
      ctx.retried = false;
      return 'reverify';
    }
    state.checks.mergeability = await ctx.host().quick.checkMergeable({ repository: spec.repository, number });
    computeDod(ctx);
    ctx.publish();
    if (!state.checks.mergeability.blockedBy?.length) {
      ctx.note('the forge no longer blocks the merge: verifying again');
      return 'reverify';
    }
  }
}
