// The task context: one object every step of the task workflow works on. It holds the task's
// state, what the message handlers tell the steps (a stop, a retry, forge events, redirects), the
// activity proxies (the orchestration queue, the task's host queue) and the ways a step shows
// itself to the operator (publish, enter, note). Deterministic code only, like the workflow.
import type {
  CancellationScope} from '@temporalio/workflow';
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityInterfaceFor,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { ContextNote } from '../context/notes.ts';
import type { HostActivities } from '../../activities/host/index.ts';
import { SwarmAgent, SwarmAttempts, SwarmPrNumber, SwarmReason, SwarmRepo, SwarmStatus, SwarmStep } from '../search-attributes.ts';
import type { RedirectInput, TaskWorkflow } from './messages.ts';
import { REGISTRY_MEMO_PATCH } from './patches.ts';
import { registryEntry } from './registry.ts';
import type { TaskSpec } from './spec.ts';
import { note, renderDetails, type TaskState } from './state.ts';
import type { ArtifactInput, Notification, Step, TaskStatus } from './types.ts';

/**
 * Every activity heartbeats while it runs (the workers' keep-alive interceptor), so a lost worker
 * is noticed within this on every step, and a stop reaches an activity in flight.
 */
const LOST_WORKER_TIMEOUT = '20 seconds';
/**
 * How long a host-bound step waits for its host's worker to pick it up before a human is told (a
 * host nobody serves, or a worker that died and did not come back): configured, this before it was.
 */
export const HOST_UNANSWERED_TIMEOUT = '5m';
const ORCHESTRATION: ActivityOptions = { startToCloseTimeout: '1 minute', heartbeatTimeout: LOST_WORKER_TIMEOUT, retry: { maximumInterval: '1 minute' } };
const HOST_QUICK: Omit<ActivityOptions, 'taskQueue'> = { startToCloseTimeout: '5 minutes', heartbeatTimeout: LOST_WORKER_TIMEOUT, retry: { maximumInterval: '10 seconds' } };
const HOST_LONG: Omit<ActivityOptions, 'taskQueue'> = { ...HOST_QUICK, startToCloseTimeout: '24 hours' };
/** Continue-as-new well before the server's 51,200-event hard limit, even if it never suggests it. */
const HISTORY_EVENTS_LIMIT = 8_000;
/** The longest reason kept in the SwarmReason search attribute (the full text is in the details). */
const REASON_MAX_CHARS = 1_000;

const orchestration = proxyActivities<Activities>(ORCHESTRATION);

/** An operator's stop: a rejection or an abort. */
export interface StopRequest {
  kind: 'rejected' | 'aborted';
  by?: string;
  reason?: string;
}

/** The host's activities: `quick` ones, `long` ones (agents, CI, reviewers), and options with a summary. */
export interface HostProxies {
  quick: ActivityInterfaceFor<HostActivities>;
  long: ActivityInterfaceFor<HostActivities>;
  options(summary: string, isLong?: boolean): ActivityOptions;
}

export class TaskContext {
  readonly spec: TaskSpec;
  /** What the records of this start carry; nothing for a task started before run keys (its activities' inputs stay as they were). */
  readonly runKeyed: { runKey?: string };
  readonly orchestration = orchestration;
  /** Redirects sent as signals, delivered by the loop that waits (monitor, gate). */
  readonly pendingRedirects: RedirectInput[] = [];
  stop: StopRequest | undefined;
  /** A human said retry since the task last asked. */
  retried = false;
  /** The verification in flight, cancelled by a stop (see STOP_CANCELS_PATCH). */
  verification: CancellationScope | undefined;
  /** Set once the merge is under way: a decision can no longer take effect. */
  merging = false;
  /** The host queue the task's steps go to and how long they wait for it (set at intake, or from the state). */
  unanswered: { queue: string; timeout: string } | undefined;
  /** Forge webhook events seen: a loop that waits wakes when it changes. */
  forgeEvents = 0;
  /** The business context selected for an attempt's prompt: the notes' texts, never put in the state. */
  businessContext: { attempt: number; notes: ContextNote[] } | undefined;
  /** The registry entry last written to the memo (a memo update is a history event: only on change). */
  private memoEntry = '';

  constructor(readonly state: TaskState) {
    this.spec = state.spec;
    this.runKeyed = state.runKey ? { runKey: state.runKey } : {};
    this.unanswered = state.setup ? { queue: state.setup.hostQueue, timeout: state.setup.hostUnansweredTimeout ?? HOST_UNANSWERED_TIMEOUT } : undefined;
  }

  now(): string {
    return new Date().toISOString();
  }

  note(text: string): void {
    note(this.state, this.now(), text);
  }

  /** The record of the attempt under way. */
  current() {
    return this.state.attempts.find((a) => a.attempt === this.state.attempt);
  }

  /** Stopping or stopped: what steers the task can no longer take effect. */
  ending(): boolean {
    return !!this.stop || this.state.step === 'cleanup' || this.state.step === 'done';
  }

  requestStop(stop: StopRequest): void {
    this.stop = stop;
    this.verification?.cancel();
  }

  /** Shows the state where operators look: the current details, the memo's registry entry, the search attributes. */
  publish(): void {
    const { state } = this;
    setCurrentDetails(renderDetails(state));
    const entry = JSON.stringify(registryEntry(state));
    if (entry !== this.memoEntry && patched(REGISTRY_MEMO_PATCH)) {
      this.memoEntry = entry;
      upsertMemo({ registry: JSON.parse(entry) as unknown });
    }
    if (!(state.setup?.searchAttributes ?? state.searchAttributes)) return;
    const reason = state.outcome?.summary ?? (state.status === 'needs_human' ? state.blocker : undefined);
    upsertSearchAttributes([
      { key: SwarmStatus, value: state.status },
      { key: SwarmStep, value: state.step },
      { key: SwarmRepo, value: this.spec.repository },
      { key: SwarmAttempts, value: state.attempt },
      // null removes it: a blocker lifted is no longer the reason.
      { key: SwarmReason, value: reason ? reason.slice(0, REASON_MAX_CHARS) : null },
      ...(state.setup ? [{ key: SwarmAgent, value: state.setup.agent.name }] : []),
      ...(state.checks.pr ? [{ key: SwarmPrNumber, value: state.checks.pr.number }] : []),
    ]);
  }

  enter(step: Step, status: TaskStatus = this.state.status): void {
    this.state.step = step;
    this.state.status = status;
    if (status !== 'needs_human') this.state.blocker = undefined;
    this.publish();
  }

  /** Records an artifact; with the signed chain, as its next link (the workflow is the chain's only writer, one link at a time). */
  async artifact(a: Omit<ArtifactInput, 'taskId' | 'runKey' | 'chain'>) {
    const chain = this.state.evidence;
    if (!chain) return orchestration.recordArtifact({ taskId: this.spec.id, ...this.runKeyed, ...a });
    const seq = chain.seq + 1;
    const recorded = await orchestration.recordArtifact({ taskId: this.spec.id, ...this.runKeyed, ...a, chain: { seq, ...(chain.head ? { previous: chain.head } : {}), at: this.now() } });
    Object.assign(chain, { seq, head: recorded.digest, spooled: recorded.spooled ?? 0 });
    return recorded;
  }

  notify(n: Omit<Notification, 'taskId'>) {
    return orchestration.notify({ taskId: this.spec.id, ...n });
  }

  /** The host's activities; they wait `unanswered` for its worker to pick them up. */
  host(taskQueue = this.state.setup!.hostQueue, unanswered = this.state.setup!.hostUnansweredTimeout ?? HOST_UNANSWERED_TIMEOUT): HostProxies {
    const quick = { ...HOST_QUICK, taskQueue, scheduleToStartTimeout: unanswered };
    const long = { ...HOST_LONG, taskQueue, scheduleToStartTimeout: unanswered };
    return {
      quick: proxyActivities<HostActivities>(quick),
      long: proxyActivities<HostActivities>(long),
      options: (summary: string, isLong = false): ActivityOptions => ({ ...(isLong ? long : quick), summary }),
    };
  }

  historyTooLong(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > HISTORY_EVENTS_LIMIT;
  }

  /** Continues as new with the state, once every handler in flight has finished. */
  async carryOn(): Promise<never> {
    await condition(allHandlersFinished);
    this.state.continuedAsNew += 1;
    return continueAsNew<TaskWorkflow>({ spec: this.spec, carried: this.state });
  }
}
