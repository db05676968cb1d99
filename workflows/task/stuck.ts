// The stuck watch's workflow side (STUCK_INTERVENTION_PATCH). The monitor runs the host's
// watchForStuck beside the agent's exit watch, each in its own cancellation scope. A stuck verdict
// wakes the monitor at once; the correction (correctionFor) goes through the redirect path with the
// headless turn interrupted for it, is recorded on the attempt (interventions) and in the notes, and
// the watch re-arms on what the agent does next. After MAX_INTERVENTIONS in a run it is not
// re-armed: the monitor's timer and the exit's classification take over.
import { ActivityCancellationType, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { StuckWatchResult } from '../../activities/agents/stuck-watch.ts';
import { correctionFor, STUCK_DEFAULTS, type StuckLimits } from '../policy/evidence/stuck.ts';
import type { TaskContext } from './context.ts';
import { deliver } from './redirects.ts';
import { describeStuck, type StuckIntervention } from './state.ts';
import type { AgentExit } from './types.ts';

export const MAX_INTERVENTIONS = 2;

type Stuck = Extract<StuckWatchResult, { stuck: true }>;

/** The spec's limits over the defaults. */
export const stuckLimits = (ctx: TaskContext): StuckLimits => ({ ...STUCK_DEFAULTS, ...ctx.spec.limits.stuck });

export class StuckWatch {
  private scope: CancellationScope | undefined;
  /** The watch activity's settlement: the monitor waits for it before it moves on (see stop). */
  private running: Promise<void> | undefined;
  private found: Stuck | undefined;
  private readonly run: number;

  constructor(private readonly ctx: TaskContext) {
    this.run = ctx.state.session?.run ?? 1;
  }

  /** A verdict waits for its correction: the monitor wakes for it. */
  get ready(): boolean {
    return this.found !== undefined;
  }

  private interventions(): StuckIntervention[] {
    return (this.ctx.current()?.interventions ?? []).filter((i) => i.run === this.run);
  }

  /** Starts the watch, from where the last one of this run stopped reading; not after the run's last allowed correction. */
  arm(): void {
    const { ctx, run } = this;
    const { state, spec } = ctx;
    const done = this.interventions();
    if (done.length >= MAX_INTERVENTIONS || !state.workspace) return;
    const h = ctx.host();
    const scope = new CancellationScope();
    this.scope = scope;
    const last = done.at(-1);
    const input = {
      taskId: spec.id,
      attempt: state.attempt,
      run,
      worktree: state.workspace.worktree,
      limits: stuckLimits(ctx),
      eventsOffset: last?.eventsOffset ?? 0,
      // What the agent did before it had the last correction is the loop it was corrected for.
      ...(last?.channel === 'inbox' && last.inbox ? { afterCorrection: last.inbox } : {}),
    };
    // Cancelled, the watch is waited for until it has stopped: an activity that outlives its
    // workflow is lost work on the host (and the time-skipping test server never unlocks time again).
    const options = { ...h.options(`stuck watch, attempt ${state.attempt}`, true), cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };
    this.running = scope
      .run(() => h.long.watchForStuck.executeWithOptions(options, [input]))
      .then(
        (result) => {
          if (result.stuck && this.scope === scope) this.found = result;
        },
        // A watch that cannot run costs the task nothing: the timer and the exit still judge the run.
        (err: Error) => {
          if (!isCancellation(err)) ctx.note(`stuck watch stopped: ${err.message}`);
        },
      );
  }

  /**
   * Stops the watch and waits until it has: after the run's exit it returns by itself within a
   * read (2 s); otherwise it stops at its next heartbeat.
   */
  async stop(): Promise<void> {
    this.scope?.cancel();
    this.scope = undefined;
    this.found = undefined;
    await this.running;
    this.running = undefined;
  }

  /** Corrects the agent for the verdict that woke the monitor, records it, and re-arms the watch. */
  async intervene(): Promise<void> {
    const { ctx, run } = this;
    const found = this.found;
    this.found = undefined;
    this.scope = undefined;
    const record = ctx.current();
    if (!found || !record || ctx.ending()) return;
    const { verdict } = found;
    // The workflow's clock from here on: the host's clock only measured up to its verdict.
    const wokeAt = Date.parse(ctx.now());
    const message = correctionFor(verdict);
    await deliver(ctx, { message, by: 'swarmflow' }, { interrupt: true });
    const sent = ctx.state.redirects?.at(-1);
    const intervention: StuckIntervention = {
      run,
      at: ctx.now(),
      reason: verdict.reason,
      ...(verdict.reason === 'idle' ? { minutes: verdict.minutes } : { what: verdict.what, times: verdict.times }),
      message,
      delivered: sent?.delivered ?? false,
      ...(sent?.channel === 'inbox' || sent?.channel === 'tmux' ? { channel: sent.channel } : {}),
      ...(sent?.inbox ? { inbox: sent.inbox } : {}),
      latencyMs: Math.max(0, found.detectedAtMs - found.firstRepeatAtMs) + (Date.parse(ctx.now()) - wokeAt),
      eventsOffset: found.eventsOffset,
    };
    (record.interventions ??= []).push(intervention);
    const left = MAX_INTERVENTIONS - this.interventions().length;
    ctx.note(`attempt ${ctx.state.attempt}: the agent is stuck (it ${describeStuck(intervention)}); corrected ${intervention.latencyMs} ms after its first repeat${left > 0 ? '' : '; no more corrections this run'}`);
    ctx.publish();
    this.arm();
  }

  /** At the run's exit: a correction queued in its inbox was delivered if its resumed turn succeeded. */
  settle(exit: AgentExit): void {
    for (const i of this.interventions()) {
      if (i.channel === 'inbox' && !i.delivered) i.delivered = exit.redirects?.find((d) => d.id === i.inbox)?.delivered ?? false;
    }
  }
}
