// The `task` workflow: one coding task from request to merge, in the 8 steps of DESIGN.md.
// Deterministic code only; every side effect is an activity. Orchestration activities run on the
// orchestration queue, everything bound to the repository's disk on the host queue chosen at intake.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { Activities } from '../../activities/index.ts';
import type { HostActivities } from '../../activities/host/index.ts';
import { classifyFailure } from '../policy/classify.ts';
import { definitionOfDone } from '../policy/definition-of-done.ts';
import { uiEvidenceGate } from '../policy/gates.ts';
import { carriedRedirects, conceptPrompt, synthesizePrompt } from '../policy/prompt.ts';
import { routeAgent } from '../policy/routing.ts';
import { SwarmAgent, SwarmAttempts, SwarmPrNumber, SwarmReason, SwarmRepo, SwarmStatus, SwarmStep } from '../search-attributes.ts';
import { registryEntry } from './registry.ts';
import { parseTaskSpec, taskBranch } from './spec.ts';
import { describeOutcome, initialState, note, renderDetails, type RedirectRecord, type TaskState } from './state.ts';
import {
  TASK_ENDED_FAILURE,
  abortInputProblem,
  abortSignal,
  abortUpdate,
  approveSignal,
  decideInputProblem,
  decideUpdate,
  forgeEventSignal,
  redirectProblem,
  redirectSignal,
  redirectUpdate,
  rejectSignal,
  retryInputProblem,
  retrySignal,
  retryUpdate,
  senderProblem,
  stateQuery,
  type AbortInput,
  type CommandResult,
  type DecideInput,
  type RedirectInput,
  type RedirectResult,
  type RetryInput,
  type TaskInput,
  type TaskResult,
} from './messages.ts';
import type { AgentCommand, AgentExit, AgentOutcome, ArtifactInput, CiCheck, HumanReviews, ClassifiedFailure, FailureEvidence, Notification, PullRequest, Step, TaskStatus } from './types.ts';

/**
 * Every activity heartbeats while it runs (the workers' keep-alive interceptor), so a lost worker
 * is noticed within this on every step, and a stop reaches an activity in flight.
 */
const LOST_WORKER_TIMEOUT = '20 seconds';
/**
 * How long a host-bound step waits for its host's worker to pick it up before a human is told (a
 * host nobody serves, or a worker that died and did not come back): configured, this before it was.
 */
const HOST_UNANSWERED_TIMEOUT = '5m';
const ORCHESTRATION: ActivityOptions = { startToCloseTimeout: '1 minute', heartbeatTimeout: LOST_WORKER_TIMEOUT, retry: { maximumInterval: '1 minute' } };
const HOST_QUICK: Omit<ActivityOptions, 'taskQueue'> = { startToCloseTimeout: '5 minutes', heartbeatTimeout: LOST_WORKER_TIMEOUT, retry: { maximumInterval: '10 seconds' } };
const HOST_LONG: Omit<ActivityOptions, 'taskQueue'> = { ...HOST_QUICK, startToCloseTimeout: '24 hours' };
/** Continue-as-new well before the server's 51,200-event hard limit, even if it never suggests it. */
const HISTORY_EVENTS_LIMIT = 8_000;
/** Rate limits and provider faults wait and respawn instead of failing the attempt (added after 0.1 shipped). */
const AGENT_FAULTS_PATCH = 'agent-faults-respawn';
/** Spawns wait for room on the host (agent cap, memory headroom) on a durable timer (added after 0.1 shipped). */
const SPAWN_CAPACITY_PATCH = 'spawn-capacity-hold';
/** A handoff route runs its concept agent before the first attempt (added after 0.1 shipped). */
const CONCEPT_HANDOFF_PATCH = 'concept-handoff';
/** An agent that cannot start on its host (no key, no binary) waits for a human instead of failing the task. */
const AGENT_MISCONFIGURED_PATCH = 'agent-misconfigured-escalates';
/** A retry sent while the escalation's notification is in flight is kept (it was lost before). */
const ESCALATE_RETRY_PATCH = 'escalate-keeps-early-retry';
/** A rate-limited or faulted concept run waits and resumes, like any run (its implementer used to start without it). */
const CONCEPT_FAULTS_PATCH = 'concept-faults-respawn';
/** A host that does not pick up a step goes to a human, who retries once it is back (the task used to wait on its queue forever). */
const HOST_UNANSWERED_PATCH = 'host-unanswered-escalates';
/** A stop (abort, reject) cancels the verification in flight: reviewers and CI are killed, not waited out. */
const STOP_CANCELS_PATCH = 'stop-cancels-verification';
/** Once the merge has begun, a reject or an abort is refused instead of being reported and then ignored. */
const MERGE_REFUSES_PATCH = 'merge-refuses-late-decisions';
/** A redirect whose text cannot be typed is refused, not sent (the activity's refusal failed the task); one sent before any run goes into its prompt. */
const REDIRECT_TRUTH_PATCH = 'redirect-delivery-truth';
/** An operator's text the task cannot carry (a NUL, 60 kB) is refused with the reason instead of being taken in. */
const OPERATOR_TEXT_PATCH = 'operator-text-refused';
/** The gate never asks with an unmet DoD, looks again at the monitor interval, and a refused merge goes back to verification or a human (it failed the task). */
const GATE_WATCH_PATCH = 'gate-watches-dod';
/** The search attributes are set as soon as intake knows the server has them (a task that failed at intake had none). */
const INTAKE_ATTRIBUTES_PATCH = 'intake-search-attributes';
/** A task's records are kept under its run key, so an id started again after a failed run keeps both runs apart. */
const RUN_KEY_PATCH = 'run-keyed-records';
/** A merge that could not update a checked-out base goes to a human, who clears the way and says retry (it failed the task). */
const BASE_IN_THE_WAY_PATCH = 'base-in-the-way-asks-a-human';
/** The task's registry entry is kept in its memo, so listings read visibility instead of querying every task. */
const REGISTRY_MEMO_PATCH = 'registry-memo';
/** A rejected or aborted task closes as a failed workflow (it closed as completed, like a merge), so the Web UI's list tells them apart. */
const CLOSE_STATUS_PATCH = 'close-status-tells-outcome';
/** `decide` answers once the decision took effect (merged, or sent back), not with the state before the merge. */
const DECIDE_ANSWERS_PATCH = 'decide-answers-after-effect';
/** The longest reason kept in the SwarmReason search attribute (the full text is in the details). */
const REASON_MAX_CHARS = 1_000;
/** The wait before respawning after a rate limit or provider fault without a Retry-After: doubling, capped. */
const faultBackoffMs = (fault: number) => Math.min(60_000 * 2 ** (fault - 1), 30 * 60_000);

const orchestration = proxyActivities<Activities>(ORCHESTRATION);

const changesRequestedAtHead = (h: HumanReviews) => h.reviews.filter((r) => r.state === 'CHANGES_REQUESTED' && r.atHead);

/** The host's worker never picked the step up (see HOST_UNANSWERED_TIMEOUT). */
const hostUnanswered = (err: unknown) => err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';

/** The `type` of the ApplicationFailure behind an activity failure, if any. */
function failureType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.type ?? undefined : undefined;
}

function validSpec(input: TaskInput): TaskState['spec'] {
  try {
    return parseTaskSpec(input.spec);
  } catch (err) {
    // A plain error would fail the workflow task forever; an invalid spec fails the task once.
    throw ApplicationFailure.create({ type: 'InvalidTaskSpec', message: (err as Error).message, nonRetryable: true });
  }
}

export async function task(input: TaskInput): Promise<TaskResult> {
  const now = () => new Date().toISOString();
  const state: TaskState = input.carried ?? initialState(validSpec(input), now());
  if (!input.carried && patched(RUN_KEY_PATCH)) state.runKey = workflowInfo().firstExecutionRunId;
  const { spec } = state;
  // What the records of this start carry; nothing for a task started before run keys (its activities' inputs stay as they were).
  const runKeyed = state.runKey ? { runKey: state.runKey } : {};
  const pendingRedirects: RedirectInput[] = [];
  let stop: { kind: 'rejected' | 'aborted'; by?: string; reason?: string } | undefined;
  let retried = false;
  /** The verification in flight, cancelled by a stop (see STOP_CANCELS_PATCH). */
  let verification: CancellationScope | undefined;
  /** Set once the merge is under way: a decision can no longer take effect. */
  let merging = false;
  /** The host queue the task's steps go to and how long they wait for it (set at intake, or from the state). */
  let unanswered = state.setup ? { queue: state.setup.hostQueue, timeout: state.setup.hostUnansweredTimeout ?? HOST_UNANSWERED_TIMEOUT } : undefined;

  // ---- messages ----
  const MERGE_UNDER_WAY = 'the merge is already under way';
  const approvalProblem = (by: string): string | undefined => {
    if (merging) return MERGE_UNDER_WAY;
    if (state.status !== 'awaiting_approval' || !state.dod?.readyForApproval) return 'the Definition of Done is not met yet';
    if (!state.setup?.approvers.includes(by)) return `${by} is not on the approvers list`;
    return undefined;
  };
  const rejectionProblem = (by: string): string | undefined => {
    if (merging) return MERGE_UNDER_WAY;
    if (!state.setup?.approvers.includes(by)) return `${by} is not on the approvers list`;
    return undefined;
  };
  /** Stopping or stopped: what steers the task can no longer take effect. */
  const ending = () => !!stop || state.step === 'cleanup' || state.step === 'done';
  /** A message whose text the task cannot carry is refused (see OPERATOR_TEXT_PATCH). */
  const badText = (problem: string | undefined) => (problem && patched(OPERATOR_TEXT_PATCH) ? problem : undefined);
  const requestStop = (s: NonNullable<typeof stop>) => {
    stop = s;
    verification?.cancel();
  };
  const decide = (d: DecideInput) => {
    state.decision = { decision: d.decision, by: d.by, comment: d.decision === 'approve' ? d.comment : d.reason, at: now() };
    if (d.decision === 'reject') requestStop({ kind: 'rejected', by: d.by, reason: d.reason });
    note(state, now(), `${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.by}${state.decision.comment ? `: ${state.decision.comment}` : ''}`);
    publish();
  };
  setHandler(approveSignal, (a) => {
    const problem = badText(decideInputProblem({ decision: 'approve', ...a })) ?? approvalProblem(a.by);
    if (problem) note(state, now(), `approval by ${a.by} refused: ${problem}`);
    else decide({ decision: 'approve', ...a });
  });
  setHandler(rejectSignal, (r) => {
    const problem = badText(decideInputProblem({ decision: 'reject', ...r })) ?? rejectionProblem(r.by);
    if (problem) note(state, now(), `rejection by ${r.by} refused: ${problem}`);
    else decide({ decision: 'reject', ...r });
  });
  setHandler(
    decideUpdate,
    async (d) => {
      decide(d);
      // Answer with what the decision did: merged (or rejected and cleaned up), or an approval the
      // task had to set aside (the head or base moved, the forge refused): then the decision is cleared.
      const decided = state.decision;
      if (patched(DECIDE_ANSWERS_PATCH)) await condition(() => state.step === 'done' || state.decision !== decided);
      return state;
    },
    {
      // Synchronous, so that a refusal reaches the caller and leaves no trace in history.
      validator: (d: DecideInput) => {
        const text = decideInputProblem(d);
        if (text) throw new Error(`${d.decision === 'approve' ? 'approval' : 'rejection'} refused: ${text}`);
        if (d.decision === 'approve') {
          const problem = approvalProblem(d.by);
          if (problem) throw new Error(`approval refused: ${problem}`);
        } else {
          const problem = rejectionProblem(d.by);
          if (problem) throw new Error(`rejection refused: ${problem}`);
        }
      },
      description: 'Approve or reject the merge; refused while the Definition of Done is unmet or from a non-approver.',
    },
  );
  setHandler(redirectSignal, (r) => {
    const problem = redirectProblem(r.message) ?? badText(senderProblem(r.by));
    if (problem && patched(REDIRECT_TRUTH_PATCH)) {
      note(state, now(), `redirect${r.by ? ` from ${r.by}` : ''} refused: ${problem}`);
      return;
    }
    pendingRedirects.push(r);
    note(state, now(), `redirect${r.by ? ` from ${r.by}` : ''} queued`);
  });
  setHandler(redirectUpdate, (r) => deliver(r), {
    // Synchronous: a refusal reaches the caller and leaves no trace in history.
    validator: (r: RedirectInput) => {
      const problem = redirectProblem(r.message) ?? senderProblem(r.by) ?? (ending() ? 'the task has ended or is stopping' : undefined);
      if (problem) throw new Error(`redirect refused: ${problem}`);
    },
    description: "Steer the agent; answers whether it has the message or it is queued (for its CLI's next turn, or the next run's prompt).",
  });
  const retryProblem = () => (state.status !== 'needs_human' ? 'the task is not waiting for a human' : undefined);
  const grantRetry = (r: RetryInput): CommandResult => {
    state.guidance = r.guidance;
    retried = true;
    note(state, now(), `retry granted${r.by ? ` by ${r.by}` : ''} with guidance`);
    return { detail: `retry granted: the task goes on from ${state.step} with your guidance` };
  };
  setHandler(retrySignal, (r) => {
    const text = badText(retryInputProblem(r));
    if (text) note(state, now(), `retry refused: ${text}`);
    else if (retryProblem()) note(state, now(), 'retry ignored: the task is not waiting for a human');
    else grantRetry(r);
  });
  setHandler(retryUpdate, grantRetry, {
    validator: (r: RetryInput) => {
      const problem = retryInputProblem(r) ?? retryProblem();
      if (problem) throw new Error(`retry refused: ${problem}`);
    },
    description: 'One more attempt (or one more try at the blocked step) for a task that needs a human, with guidance.',
  });
  const abortTask = (a: AbortInput): CommandResult => {
    requestStop({ kind: 'aborted', by: a.by, reason: a.reason });
    note(state, now(), `abort requested${a.by ? ` by ${a.by}` : ''}${a.reason ? `: ${a.reason}` : ''}`);
    return { detail: 'abort accepted: the task stops what runs and cleans up (PR closed, worktree, session and branch removed)' };
  };
  setHandler(abortSignal, (a) => {
    const problem = badText(abortInputProblem(a)) ?? (merging ? MERGE_UNDER_WAY : undefined);
    if (problem) note(state, now(), `abort${a.by && !senderProblem(a.by) ? ` by ${a.by}` : ''} refused: ${problem}`);
    else abortTask(a);
  });
  setHandler(abortUpdate, abortTask, {
    validator: (a: AbortInput) => {
      const problem = abortInputProblem(a) ?? (merging ? MERGE_UNDER_WAY : ending() ? 'the task has ended or is stopping' : undefined);
      if (problem) throw new Error(`abort refused: ${problem}`);
    },
    description: 'Stop the task and clean up; refused once the merge is under way or the task has ended.',
  });
  setHandler(stateQuery, () => state, { description: 'The full typed state of the task.' });
  // A webhook saw the PR, its checks or its reviews change: look now instead of at the next tick.
  let forgeEvents = 0;
  setHandler(
    forgeEventSignal,
    (e) => {
      // Only a wake-up: the loops re-read the PR and checks. Another repository's event is not ours,
      // nor a push to a branch that is neither the base nor the task's (a push reaches every task of its repository).
      if (e.repository !== spec.repository) return;
      if (e.kind === 'push' && e.ref !== spec.baseBranch && e.ref !== taskBranch(spec.id)) return;
      forgeEvents += 1;
    },
    { description: 'A forge webhook event for this task.' },
  );

  const current = () => state.attempts.find((a) => a.attempt === state.attempt);

  // ---- operator visibility ----
  /** The registry entry last written to the memo (a memo update is a history event: only on change). */
  let memoEntry = '';
  function publish(): void {
    setCurrentDetails(renderDetails(state));
    const entry = JSON.stringify(registryEntry(state));
    if (entry !== memoEntry && patched(REGISTRY_MEMO_PATCH)) {
      memoEntry = entry;
      upsertMemo({ registry: JSON.parse(entry) as unknown });
    }
    if (!(state.setup?.searchAttributes ?? state.searchAttributes)) return;
    const reason = state.outcome?.summary ?? (state.status === 'needs_human' ? state.blocker : undefined);
    upsertSearchAttributes([
      { key: SwarmStatus, value: state.status },
      { key: SwarmStep, value: state.step },
      { key: SwarmRepo, value: spec.repository },
      { key: SwarmAttempts, value: state.attempt },
      // null removes it: a blocker lifted is no longer the reason.
      { key: SwarmReason, value: reason ? reason.slice(0, REASON_MAX_CHARS) : null },
      ...(state.setup ? [{ key: SwarmAgent, value: state.setup.agent.name }] : []),
      ...(state.checks.pr ? [{ key: SwarmPrNumber, value: state.checks.pr.number }] : []),
    ]);
  }
  function enter(step: Step, status: TaskStatus = state.status): void {
    state.step = step;
    state.status = status;
    if (status !== 'needs_human') state.blocker = undefined;
    publish();
  }
  const artifact = (a: Omit<ArtifactInput, 'taskId' | 'runKey'>) => orchestration.recordArtifact({ taskId: spec.id, ...runKeyed, ...a });
  const notify = (n: Omit<Notification, 'taskId'>) => orchestration.notify({ taskId: spec.id, ...n });

  /** The host's activities; they wait `unanswered` for its worker to pick them up. */
  function host(taskQueue = state.setup!.hostQueue, unanswered = state.setup!.hostUnansweredTimeout ?? HOST_UNANSWERED_TIMEOUT) {
    const quick = { ...HOST_QUICK, taskQueue, scheduleToStartTimeout: unanswered };
    const long = { ...HOST_LONG, taskQueue, scheduleToStartTimeout: unanswered };
    return {
      quick: proxyActivities<HostActivities>(quick),
      long: proxyActivities<HostActivities>(long),
      options: (summary: string, isLong = false): ActivityOptions => ({ ...(isLong ? long : quick), summary }),
    };
  }

  // ---- step 1: intake & scope ----
  async function intakeAndScope(): Promise<void> {
    enter('intake');
    const cfg = await orchestration.taskConfig();
    // From here on the task shows its status in the Web UI's list, also if the rest of intake fails.
    if (patched(INTAKE_ATTRIBUTES_PATCH)) {
      state.searchAttributes = cfg.searchAttributes;
      publish();
    }
    const routed = routeAgent(spec, cfg.routing, Object.keys(cfg.agents));
    const agent = cfg.agents[routed.agent]!;
    const concept = routed.concept ? { agent: cfg.agents[routed.concept]!, file: `docs/concepts/${spec.id}.md` } : undefined;
    // Every host-bound step runs on the host that holds the worktree: the spec's, else the configured one.
    const hostQueue = spec.host ? `swarm-host-${spec.host}` : cfg.hostQueue;
    const hostUnansweredTimeout = cfg.hostUnansweredTimeout ?? HOST_UNANSWERED_TIMEOUT;
    unanswered = { queue: hostQueue, timeout: hostUnansweredTimeout };
    const policy = await host(hostQueue, hostUnansweredTimeout).quick.loadRepoPolicy({ repository: spec.repository, base: spec.baseBranch });
    state.setup = { agent, ...(concept ? { concept } : {}), routingReason: routed.reason, reviewers: cfg.reviewers, approvers: cfg.approvers, hostQueue, policy, reminderIntervalMs: cfg.reminderIntervalMs, hostUnansweredTimeout, searchAttributes: cfg.searchAttributes };
    note(state, now(), `routed to ${agent.name}: ${routed.reason}${spec.host ? `; on host ${spec.host}` : ''}`);
    publish();
    await artifact({ key: 'intent', kind: 'intent', step: 'intake', payload: { spec, agent: agent.name, routingReason: routed.reason, ci: policy.ci.map((c) => c.name), uiPaths: policy.uiPaths } });
  }

  // ---- step 2: prompt synthesis ----
  function promptSynthesis(): string {
    enter('prompt');
    const failures: ClassifiedFailure[] = state.attempts.flatMap((a) => (a.failure ? [a.failure] : []));
    if (state.guidance) failures.push(classifyFailure({ source: 'human', summary: state.guidance, details: [], files: [] }));
    const concept = state.concept && state.concept.commits > 0 ? { file: state.concept.file, by: state.concept.agent } : undefined;
    return synthesizePrompt({ spec, agent: state.setup!.agent.name, attempt: state.attempt, failures, concept });
  }

  // ---- step 3: spawn ----
  /**
   * Starts the attempt's agent. A later run of the same attempt (run > 1) resumes its session with
   * `resumeWith`, or starts `agent` afresh (the handoff's implementer). False when stopped while held.
   */
  async function spawn(prompt: string, respawn?: { run: number; resumeWith?: string; agent?: AgentCommand }): Promise<boolean> {
    enter('spawn');
    const h = host();
    if (patched(SPAWN_CAPACITY_PATCH) && !(await awaitCapacity())) return false;
    if (!state.workspace) {
      // The repository itself for the local forge; a fetched mirror on this host for GitHub.
      state.checkout = (await h.quick.localCheckout({ repository: spec.repository })).path;
      state.workspace = await h.quick.prepareWorkspace.executeWithOptions(h.options('worktree and bootstrap'), [
        { taskId: spec.id, ...runKeyed, repository: state.checkout, baseBranch: spec.baseBranch, bootstrap: state.setup!.policy.bootstrap },
      ]);
    }
    const run = respawn?.run ?? 1;
    const agent = respawn?.agent ?? state.setup!.agent;
    // Redirects no run received go with this one, in its prompt and in its resume message (whichever the CLI takes).
    const carried = (state.redirects ?? []).filter((r) => r.waiting);
    const withCarried = (text: string) => (carried.length > 0 ? `${text}\n${carriedRedirects(carried.map((r) => r.message))}\n` : text);
    const fullPrompt = withCarried(prompt);
    const resumeWith = respawn?.resumeWith === undefined ? undefined : withCarried(respawn.resumeWith);
    state.session = await h.quick.spawnAgent.executeWithOptions(h.options(`spawn ${agent.name}, attempt ${state.attempt}${run > 1 ? `, run ${run}` : ''}`), [
      { taskId: spec.id, ...runKeyed, attempt: state.attempt, run, resumeWith, worktree: state.workspace.worktree, agent, prompt: fullPrompt, port: state.workspace.port },
    ]);
    for (const r of carried) {
      Object.assign(r, { delivered: true, channel: 'prompt', carriedTo: { attempt: state.attempt, run } });
      delete r.waiting;
    }
    if (carried.length > 0) note(state, now(), `${carried.length} redirect(s) delivered in the prompt of attempt ${state.attempt}${run > 1 ? `, run ${run}` : ''}`);
    if (run === 1) state.attempts.push({ attempt: state.attempt, startedAt: now() });
    state.guidance = undefined;
    note(state, now(), `attempt ${state.attempt}${run > 1 ? ` (run ${run})` : ''}: ${agent.name} started in tmux session ${state.session.session}`);
    await artifact({ key: `receipt:spawn:${state.attempt}${run > 1 ? `.${run}` : ''}`, kind: 'receipt', step: 'spawn', payload: { ...state.session, agent: agent.name, prompt: fullPrompt } });
    return true;
  }

  /** Holds the spawn on a durable timer while the host is at its agent cap or short of memory. */
  async function awaitCapacity(): Promise<boolean> {
    for (;;) {
      const capacity = await host().quick.spawnCapacity({ taskId: spec.id });
      if (capacity.ok) {
        if (state.checks.spawnHold) note(state, now(), `spawn no longer held: ${capacity.liveAgents} agent(s) running, ${capacity.freeMemoryMb} MB free`);
        state.checks.spawnHold = undefined;
        return true;
      }
      if (state.checks.spawnHold?.reason !== capacity.reason) note(state, now(), `spawn held: ${capacity.detail}; checking again every ${Math.round(capacity.retryInMs / 1000)} s`);
      state.checks.spawnHold = { reason: capacity.reason, detail: capacity.detail, since: state.checks.spawnHold?.since ?? now() };
      publish();
      if (historyTooLong()) await carryOn();
      await condition(() => !!stop, capacity.retryInMs, { summary: `spawn held: ${capacity.reason}` });
      if (stop) return false;
    }
  }

  // ---- step 4: monitor loop on durable timers ----
  /** Waits for the agent to exit, checking its session on every tick; undefined when stopped. */
  async function monitor(): Promise<AgentExit | undefined> {
    enter('monitor');
    const h = host();
    let exit: AgentExit | undefined;
    let watchError: Error | undefined;
    const watcher = new CancellationScope();
    void watcher
      .run(() => h.long.awaitAgentExit.executeWithOptions(h.options(`watch agent, attempt ${state.attempt}`, true), [
        { taskId: spec.id, attempt: state.attempt, run: state.session?.run ?? 1, worktree: state.workspace!.worktree, baseBranch: spec.baseBranch },
      ]))
      .then((e) => (exit = e), (err: Error) => (watchError = err)); // activity failures are Errors
    while (!exit && !stop) {
      if (watchError) throw watchError;
      if (historyTooLong()) {
        watcher.cancel();
        await carryOn();
      }
      const seen = forgeEvents;
      const woke = await condition(() => !!exit || !!stop || !!watchError || pendingRedirects.length > 0 || forgeEvents !== seen, spec.limits.monitorInterval, { summary: 'monitor tick' });
      await deliverRedirects();
      if (!woke || forgeEvents !== seen) {
        state.checks.sessionAlive = (await h.quick.sessionAlive({ taskId: spec.id })).alive;
        state.checks.checkedAt = now();
        publish();
      }
    }
    if (stop) watcher.cancel();
    if (exit) {
      const record = state.attempts.find((a) => a.attempt === state.attempt);
      if (record) record.exit = exit;
      state.checks.sessionAlive = false;
      settleInbox(exit);
      note(state, now(), `attempt ${state.attempt}: agent exited with ${exit.exitCode ?? 'no exit code'}, ${exit.commits} commit(s)${exit.outcome ? `; ${describeOutcome(exit.outcome)}` : ''}`);
      if (exit.outcome) countUsage(exit.outcome);
    }
    return exit;
  }

  function countUsage({ usage, cost }: AgentOutcome): void {
    const total = state.usage ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0, runs: 0 };
    state.usage = {
      inputTokens: total.inputTokens + usage.inputTokens,
      cachedInputTokens: total.cachedInputTokens + usage.cachedInputTokens,
      outputTokens: total.outputTokens + usage.outputTokens,
      costUsd: total.costUsd + (cost?.usd ?? 0),
      runs: total.runs + 1,
    };
  }

  async function deliverRedirects(): Promise<void> {
    while (pendingRedirects.length > 0) await deliver(pendingRedirects.shift()!);
  }

  /** Sends one redirect to the agent's session and records what became of it (see RedirectRecord). */
  async function deliver(redirect: RedirectInput): Promise<RedirectResult> {
    const record: RedirectRecord = { ...redirect, at: now(), delivered: false };
    (state.redirects ??= []).push(record);
    // Before any run there is no session to send it to (before the patch it was sent regardless).
    const sent = state.session || !patched(REDIRECT_TRUTH_PATCH) ? await host().quick.sendToSession({ taskId: spec.id, message: redirect.message }) : undefined;
    if (sent?.channel) record.channel = sent.channel;
    let result: RedirectResult;
    if (sent?.delivered) {
      record.delivered = true;
      result = { status: 'delivered', detail: sent.channel === 'tmux' ? 'delivered to the agent (typed into its tmux session)' : 'delivered to the agent' };
    } else if (sent?.inbox) {
      Object.assign(record, { waiting: 'inbox', inbox: sent.inbox });
      result = { status: 'queued', detail: "queued: the agent's headless session resumes with it after its current turn" };
    } else {
      record.waiting = 'next_run';
      result = { status: 'queued', detail: 'not delivered yet: no live agent session; the next run or attempt gets it in its prompt' };
    }
    note(state, now(), `redirect${redirect.by ? ` from ${redirect.by}` : ''} ${result.detail}`);
    return result;
  }

  /** At a run's exit: the redirects queued in its inbox are delivered, or wait for the next run. */
  function settleInbox(exit: AgentExit): void {
    for (const r of state.redirects ?? []) {
      if (r.waiting !== 'inbox') continue;
      if (exit.redirects?.find((d) => d.id === r.inbox)?.delivered) {
        r.delivered = true;
        delete r.waiting;
        note(state, now(), "redirect delivered: the agent's session resumed with it");
      } else {
        r.waiting = 'next_run';
        note(state, now(), 'redirect not delivered: the run ended before its session resumed with it; the next run or attempt gets it in its prompt');
      }
    }
  }

  // ---- handoff: a concept agent writes the concept, the implementer builds it ----
  /**
   * Attempt 1's first run is the concept agent's (and its next ones, when a rate limit or provider
   * fault respawned it); the run after it starts the implementer on the concept.
   */
  async function conceptHandoff(): Promise<boolean> {
    const { agent, file } = state.setup!.concept!;
    const prompt = () => conceptPrompt({ spec, agent: agent.name, file });
    // Already running when a continue-as-new came mid-concept.
    if (!current() && !(await spawn(prompt(), { run: 1, agent }))) return false;
    let exit: AgentExit | undefined;
    for (;;) {
      exit = await monitor();
      if (!exit) return false;
      const fault = exit.outcome?.failure;
      // A refused key is not waited out: the implementer goes on from the task alone.
      if ((fault !== 'rate_limited' && fault !== 'server_error') || !patched(CONCEPT_FAULTS_PATCH)) break;
      if (!(await agentFault({ ...exit.outcome!, failure: fault }, { agent, prompt }))) return false;
      // Its faults ran out and a human said retry: a new attempt, from the task alone.
      if (!current()) return spawn(promptSynthesis());
      state.conceptRun = state.session!.run;
    }
    state.concept = { agent: agent.name, file, commits: exit.commits, ...(exit.outcome ? { outcome: exit.outcome } : {}), at: now() };
    note(state, now(), exit.commits > 0 ? `${agent.name} committed the concept (${file}); ${state.setup!.agent.name} implements it` : `${agent.name} committed no concept; ${state.setup!.agent.name} implements from the task alone`);
    current()!.exit = undefined;
    return spawn(promptSynthesis(), { run: (state.session?.run ?? 1) + 1 });
  }

  // ---- agent faults: rate limits and provider faults spend no attempt ----
  /**
   * A rate-limited or faulted run waits on a durable timer and respawns the same attempt, resuming
   * its session; a refused key goes to a human. False when the task was stopped meanwhile.
   */
  async function agentFault(
    outcome: AgentOutcome & { failure: 'rate_limited' | 'server_error' | 'auth' },
    { agent, prompt }: { agent: AgentCommand; prompt: () => string } = { agent: state.setup!.agent, prompt: promptSynthesis },
  ): Promise<boolean> {
    const record = current()!;
    if (outcome.failure === 'auth') {
      Object.assign(record, { endedAt: now(), outcome: 'failed' });
      return escalate(`${agent.name} could not authenticate with its model provider (${outcome.message ?? 'no message'}); fix its API key on host ${state.setup!.hostQueue}`, { respawn: true });
    }
    const interruptions = (record.interruptions ??= []);
    const run = (state.session?.run ?? 1) + 1;
    if (interruptions.length >= (spec.limits.maxAgentFaults ?? 6)) {
      Object.assign(record, { endedAt: now(), outcome: 'failed' });
      return escalate(`${agent.name} hit ${interruptions.length + 1} rate limits or provider faults in attempt ${state.attempt}; last: ${outcome.message ?? outcome.failure}`, { respawn: true });
    }
    const waitedMs = outcome.retryAfterMs ?? faultBackoffMs(interruptions.length + 1);
    interruptions.push({ run: run - 1, failure: outcome.failure, message: outcome.message, waitedMs, at: now() });
    record.exit = undefined;
    enter('monitor');
    note(state, now(), `attempt ${state.attempt}: ${outcome.failure === 'rate_limited' ? 'rate limited' : 'provider fault'} (${outcome.message ?? 'no message'}); respawning in ${Math.round(waitedMs / 1000)} s, no attempt spent`);
    await condition(() => !!stop, waitedMs, { summary: `${outcome.failure}: waiting before respawn` });
    if (stop) return false;
    const resumeWith = `Your previous run was interrupted (${outcome.failure === 'rate_limited' ? 'rate limit' : 'provider fault'}). Continue the task where you left off.`;
    return spawn(prompt(), { run, resumeWith, agent });
  }

  // ---- steps 5-7: PR synced with base, review, gates ----
  /** Verifies the branch head; returns the failure to hand back to the agent, if any. */
  async function verify(exit?: AgentExit): Promise<ClassifiedFailure | 'reviewer_failed' | undefined> {
    const h = host();
    const fail = (evidence: FailureEvidence) => classifyFailure(evidence);
    if (exit && exit.commits === 0) {
      return fail({ source: 'agent_exit', summary: `the agent exited (code ${exit.exitCode ?? 'none'}) without committing anything`, details: [exit.logTail], files: [] });
    }

    // 5. PR, kept in sync with the base. (Running again, also when re-verifying at the gate.)
    enter('pr', 'running');
    try {
      await h.quick.pushBranch({ repository: spec.repository, worktree: state.workspace!.worktree, branch: taskBranch(spec.id) });
    } catch (err) {
      // Someone else pushed to the branch and the agent's commits do not build on theirs: the agent merges them.
      if (failureType(err) !== 'BranchDiverged' || !patched(GATE_WATCH_PATCH)) throw err;
      const said = (err as ActivityFailure).cause?.message ?? 'the branch diverged';
      return fail({ source: 'conflict', summary: `the task branch on the forge has commits from elsewhere: merge them`, details: [said], files: [] });
    }
    // A PR already opened is read, not opened again (its title and body may be a human's by now).
    const known = state.checks.pr?.state === 'open' && patched(GATE_WATCH_PATCH) ? await h.quick.getPr({ repository: spec.repository, number: state.checks.pr.number }) : undefined;
    let pr = known?.state === 'open' ? known : await h.quick.ensurePr({ taskId: spec.id, repository: spec.repository, base: spec.baseBranch, branch: taskBranch(spec.id), title: spec.title, body: prBody() });
    state.checks.pr = pr;
    await artifact({ key: `receipt:pr:${pr.number}`, kind: 'receipt', step: 'pr', payload: { number: pr.number, url: pr.url } });
    const sync = await h.quick.syncWithBase.executeWithOptions(h.options(`sync PR #${pr.number} with ${spec.baseBranch}`), [{ repository: spec.repository, number: pr.number, worktree: state.workspace!.worktree }]);
    if (sync.status === 'conflict') {
      return fail({ source: 'conflict', summary: `merging ${spec.baseBranch} into the branch conflicts`, details: sync.conflicts.map((f) => `conflict in ${f}`), files: sync.conflicts });
    }
    pr = await h.quick.getPr({ repository: spec.repository, number: pr.number });
    state.checks.pr = pr;
    state.checks.mergeability = await h.quick.checkMergeable({ repository: spec.repository, number: pr.number });
    publish();

    // 6. Review by other models.
    enter('review');
    const { diff } = await h.quick.diff({ repository: spec.repository, number: pr.number });
    const review = await h.long.runReviewers.executeWithOptions(h.options(`review PR #${pr.number}`, true), [
      { taskId: spec.id, headSha: pr.headSha, diff, reviewers: state.setup!.reviewers, cwd: state.workspace!.worktree },
    ]);
    state.checks.review = review;
    await artifact({ key: `verification:review:${pr.headSha}`, kind: 'verification', step: 'review', payload: { ...review } });
    await h.quick.postReview({ repository: spec.repository, number: pr.number, headSha: pr.headSha, verdict: review });
    // Humans review on the forge too: a request for changes at this head goes back to the agent
    // like a finding (one on an older head was answered by the commits since).
    state.checks.humanReviews = await h.quick.humanReviews({ repository: spec.repository, number: pr.number, headSha: pr.headSha });
    const requested = changesRequestedAtHead(state.checks.humanReviews);
    if (requested.length > 0) {
      return fail({ source: 'review', summary: `changes requested by ${requested.map((r) => r.author).join(', ')}`, details: requested.map((r) => `${r.author}: ${r.body}`), files: [] });
    }
    const critical = review.results.flatMap((r) => r.findings.filter((f) => f.severity === 'critical'));
    if (critical.length > 0) {
      return fail({ source: 'review', summary: `${critical.length} critical review finding(s)`, details: critical.map((f) => `${f.file}:${f.line} ${f.message}`), files: critical.map((f) => f.file) });
    }
    if (review.results.some((r) => r.status === 'failed')) return 'reviewer_failed';

    // 7. CI and policy gates -> the Definition of Done.
    enter('gates');
    const runCi = () =>
      h.long.runCi.executeWithOptions(h.options(`CI on ${pr.headSha.slice(0, 12)}`, true), [
        { taskId: spec.id, repository: spec.repository, number: pr.number, headSha: pr.headSha, checks: state.setup!.policy.ci },
      ]);
    let ci = await runCi();
    // A forge's CI runs elsewhere: wait for it on the monitor's timer, sooner on a webhook.
    while (ci.status === 'pending' && !stop) {
      state.checks.ci = ci;
      publish();
      const seen = forgeEvents;
      await condition(() => !!stop || forgeEvents !== seen, spec.limits.monitorInterval, { summary: 'waiting for CI' });
      ci = await runCi();
    }
    if (stop) return undefined;
    state.checks.ci = ci;
    await artifact({ key: `verification:ci:${pr.headSha}`, kind: 'verification', step: 'gates', payload: { ...ci } });
    if (ci.status === 'failed') {
      const failed = ci.checks.filter((c) => c.status !== 'passed');
      const detail = (c: CiCheck) => `${c.name}${c.conclusion ? ` (${c.conclusion})` : ''}${c.detailsUrl ? ` ${c.detailsUrl}` : ''}:\n${c.outputTail}`;
      return fail({ source: 'ci', summary: `CI failed: ${failed.map((c) => `${c.name} ${c.status}`).join(', ')}`, details: failed.map(detail), files: [] });
    }
    const changed = await h.quick.changedFiles({ repository: spec.repository, number: pr.number });
    state.checks.uiEvidence = uiEvidenceGate({ changedFiles: changed, uiPaths: state.setup!.policy.uiPaths, prBody: pr.body });
    if (state.checks.uiEvidence.required && !state.checks.uiEvidence.satisfied) {
      return fail({ source: 'gates', summary: state.checks.uiEvidence.detail, details: [], files: changed.files.map((f) => f.path) });
    }
    computeDod();
    return undefined;
  }

  function computeDod(): void {
    const c = state.checks;
    state.dod = definitionOfDone({
      pr: c.pr,
      mergeability: c.mergeability,
      ci: c.ci,
      ciConfigured: state.setup!.policy.ci.length > 0,
      review: c.review,
      uiEvidence: c.uiEvidence,
      approved: state.decision?.decision === 'approve',
    });
  }

  function prBody(): string {
    return [`Task \`${spec.id}\` (${spec.shape}), opened by swarmflow.`, '', spec.description, '', '## Acceptance criteria', ...spec.acceptanceCriteria.map((c) => `- ${c}`)].join('\n');
  }

  // ---- step 8: human gate, merge ----
  /** Waits for a decision with reminders, keeping the branch synced; 'reverify' when the head must be verified again. */
  async function humanGate(): Promise<'merged' | 'stopped' | 'reverify'> {
    // The gate asks only with a met DoD, looks again at the monitor interval, and a refused merge never fails the task.
    const watch = patched(GATE_WATCH_PATCH);
    if (watch) {
      const unmet = await unmetAtGate();
      if (unmet) return unmet;
    }
    enter('human_gate', 'awaiting_approval');
    const pr = state.checks.pr!;
    // Once per verified head, even across continue-as-new.
    if (state.approval?.headSha !== pr.headSha) {
      await notify({ event: 'ready_for_approval', title: `Ready for approval: ${spec.title}`, message: `PR #${pr.number} at ${pr.headSha.slice(0, 12)} meets the Definition of Done. Approve with: swarmflow approve ${spec.id} --by <you>`, link: pr.url });
      state.approval = { headSha: pr.headSha, requestedAt: now(), lastReminderAt: Date.now() };
    }
    const approval = state.approval;
    const reminderMs = state.setup!.reminderIntervalMs;
    for (;;) {
      if (historyTooLong()) await carryOn();
      const untilReminder = Math.max(1, approval.lastReminderAt + reminderMs - Date.now());
      const seen = forgeEvents;
      const woke = await condition(
        () => !!state.decision || !!stop || pendingRedirects.length > 0 || forgeEvents !== seen,
        watch ? Math.min(untilReminder, msToNumber(spec.limits.monitorInterval)) : untilReminder,
        { summary: 'waiting for approval' },
      );
      await deliverRedirects();
      if (stop) return 'stopped';
      if (state.decision?.decision === 'approve') break;
      const remind = Date.now() - approval.lastReminderAt >= reminderMs;
      if (remind) {
        approval.lastReminderAt = Date.now();
        await notify({ event: 'approval_reminder', title: `Still waiting for approval: ${spec.title}`, message: `PR #${pr.number} has waited for approval since ${approval.requestedAt}.`, link: pr.url });
      }
      if (watch && (remind || forgeEvents !== seen || !woke)) {
        const moved = await lookAgainAtGate(pr, remind || forgeEvents !== seen);
        if (moved) return moved;
      } else if (remind || forgeEvents !== seen) {
        // The base may have moved while we waited: keep the branch in sync and verify again.
        const m = await host().quick.checkMergeable({ repository: spec.repository, number: pr.number });
        state.checks.mergeability = m;
        if (m.behindBy > 0 || !m.mergeable) {
          note(state, now(), `${spec.baseBranch} moved (${m.behindBy} commit(s)): syncing and verifying again`);
          return 'reverify';
        }
        const human = await host().quick.humanReviews({ repository: spec.repository, number: pr.number, headSha: pr.headSha });
        state.checks.humanReviews = human;
        if (changesRequestedAtHead(human).length > 0) {
          note(state, now(), 'a reviewer requested changes: verifying again');
          return 'reverify';
        }
      }
    }
    computeDod();
    const h = host();
    merging = patched(MERGE_REFUSES_PATCH);
    try {
      const merged = await h.quick.mergePr.executeWithOptions(h.options(`merge PR #${pr.number} at ${pr.headSha.slice(0, 12)}`), [{ repository: spec.repository, number: pr.number, expectedHeadSha: pr.headSha }]);
      state.merge = { sha: merged.mergeSha, at: now() };
    } catch (err) {
      // The head or the base moved since the approval: verify again, and ask again.
      const type = failureType(err);
      if (type === 'HeadMoved' || type === 'MergeConflict' || (watch && type === 'BehindBase')) {
        merging = false;
        state.decision = undefined;
        const why = type === 'HeadMoved' ? 'the PR head moved' : type === 'MergeConflict' ? `${spec.baseBranch} moved and now conflicts` : `${spec.baseBranch} moved and the forge requires the branch up to date`;
        note(state, now(), `${why} after approval: verifying again; approval needed again`);
        return 'reverify';
      }
      if (watch && type === 'NotMergeable') {
        // Rules only a human can satisfy (a required GitHub review, a ruleset): ask, keep the PR.
        merging = false;
        state.decision = undefined;
        return awaitForge(`the forge refused the approved merge: ${(err as ActivityFailure).cause?.message ?? 'not mergeable'}; approval needed again once it is met`);
      }
      if (type === 'BaseNotUpdatable' && patched(BASE_IN_THE_WAY_PATCH)) {
        // The operator's own checkout of the base is in the way: theirs to clear; then verify and ask again.
        merging = false;
        state.decision = undefined;
        const cleared = await escalate(`the approved merge could not update the base: ${(err as ActivityFailure).cause?.message ?? 'its checkout is in the way'}; approval needed again after a retry`, { respawn: false });
        return cleared ? 'reverify' : 'stopped';
      }
      throw err;
    }
    state.checks.pr = { ...pr, state: 'merged' };
    note(state, now(), `merged PR #${pr.number} as ${state.merge.sha.slice(0, 12)}`);
    await artifact({ key: 'verification:final', kind: 'verification', step: 'human_gate', payload: { dod: state.dod, decision: state.decision, merge: state.merge, headSha: pr.headSha } });
    return 'merged';
  }

  /**
   * Why the gate may not ask for approval, as what to do: the DoD is recomputed; anything unmet but
   * the forge's own rules is verified again at once, the forge's rules wait for a human.
   */
  async function unmetAtGate(): Promise<'reverify' | 'stopped' | undefined> {
    computeDod();
    const unmet = state.dod!.items.filter((i) => !i.ok && i.key !== 'human_approved');
    if (unmet.length === 0) return undefined;
    if (unmet.some((i) => i.key !== 'forge_rules')) {
      note(state, now(), `the Definition of Done is not met (${unmet.map((i) => `${i.label}: ${i.detail}`).join('; ')}): verifying again`);
      return 'reverify';
    }
    return awaitForge(`PR #${state.checks.pr!.number} is not mergeable yet: ${unmet.map((i) => i.detail).join('; ')}`);
  }

  /**
   * At the gate, on every tick: a new head from elsewhere or a moved base sends the PR back through
   * verification (one activity a tick); on a forge event or a reminder, so does a request for changes.
   */
  async function lookAgainAtGate(pr: PullRequest, reviews: boolean): Promise<'reverify' | 'stopped' | undefined> {
    const h = host();
    const m = await h.quick.checkMergeable({ repository: spec.repository, number: pr.number });
    if (m.headSha && m.headSha !== pr.headSha) {
      state.checks.pr = await h.quick.getPr({ repository: spec.repository, number: pr.number });
      computeDod();
      note(state, now(), `the PR head moved to ${m.headSha.slice(0, 12)} (pushed from elsewhere): verifying it`);
      return 'reverify';
    }
    state.checks.mergeability = m;
    const unmet = await unmetAtGate();
    if (unmet) return unmet;
    if (reviews) {
      const human = await h.quick.humanReviews({ repository: spec.repository, number: pr.number, headSha: pr.headSha });
      state.checks.humanReviews = human;
      if (changesRequestedAtHead(human).length > 0) {
        note(state, now(), 'a reviewer requested changes: verifying again');
        return 'reverify';
      }
    }
    publish();
    return undefined;
  }

  /**
   * The forge will not merge until something only a human gives (a GitHub review, a rule): the task
   * says so and waits, looking again on forge events and at the monitor interval; met, or on
   * `retry`, the head is verified again.
   */
  async function awaitForge(blocker: string): Promise<'reverify' | 'stopped'> {
    retried = false;
    state.blocker = blocker;
    enter('human_gate', 'needs_human');
    note(state, now(), `needs a human: ${blocker}`);
    await notify({ event: 'escalated', title: `Needs a human: ${spec.title}`, message: `${blocker}. The task goes on by itself once that is met; or: swarmflow retry ${spec.id} "<guidance>", or swarmflow abort ${spec.id}`, link: state.checks.pr?.url });
    const number = state.checks.pr!.number;
    for (;;) {
      if (historyTooLong()) await carryOn();
      const seen = forgeEvents;
      await condition(() => retried || !!stop || forgeEvents !== seen, spec.limits.monitorInterval, { summary: 'waiting for the forge' });
      if (stop) return 'stopped';
      if (retried) {
        retried = false;
        return 'reverify';
      }
      state.checks.mergeability = await host().quick.checkMergeable({ repository: spec.repository, number });
      computeDod();
      publish();
      if (!state.checks.mergeability.blockedBy?.length) {
        note(state, now(), 'the forge no longer blocks the merge: verifying again');
        return 'reverify';
      }
    }
  }

  // ---- failure handling: classified, retried narrowed, escalated ----
  async function failAttempt(failure: ClassifiedFailure): Promise<void> {
    const record = state.attempts.find((a) => a.attempt === state.attempt);
    if (record) Object.assign(record, { endedAt: now(), outcome: 'failed', failure });
    note(state, now(), `attempt ${state.attempt} failed (${failure.kind}): ${failure.evidence.summary}`);
    await artifact({ key: `verification:attempt:${state.attempt}`, kind: 'verification', step: state.step, payload: { ...failure } });
    // The agent's session ends with its process: the next attempt respawns with a narrowed prompt.
    state.attempt += 1;
  }

  /** Waits for `retry` or `abort`; with `respawn`, a retry grants one more attempt. */
  async function escalate(blocker: string, { respawn }: { respawn: boolean }): Promise<boolean> {
    // A retry can arrive as soon as the task shows needs_human, while the notification is sent:
    // clear the flag before, not after (before this patch such a retry was lost).
    const keepEarlyRetry = patched(ESCALATE_RETRY_PATCH);
    if (keepEarlyRetry) retried = false;
    state.attempt = Math.min(state.attempt, state.attemptLimit);
    state.blocker = blocker;
    enter(state.step, 'needs_human');
    note(state, now(), `needs a human: ${blocker}`);
    await notify({ event: 'escalated', title: `Needs a human: ${spec.title}`, message: `${blocker}. Continue with: swarmflow retry ${spec.id} "<guidance>", or swarmflow abort ${spec.id}`, link: state.checks.pr?.url });
    if (!keepEarlyRetry) retried = false;
    await condition(() => retried || !!stop);
    if (stop) return false;
    if (respawn) {
      state.attemptLimit += 1;
      state.attempt = state.attemptLimit;
    }
    enter(state.step, 'running');
    return true;
  }

  // ---- continue-as-new ----
  function historyTooLong(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > HISTORY_EVENTS_LIMIT;
  }
  async function carryOn(): Promise<never> {
    await condition(allHandlersFinished);
    state.continuedAsNew += 1;
    return continueAsNew<typeof task>({ spec, carried: state });
  }

  // ---- cleanup: on merge, reject, abort, cancel and failure; idempotent ----
  async function cleanup(): Promise<void> {
    if (!state.setup) return;
    enter('cleanup');
    const h = host();
    if (state.checks.pr && state.checks.pr.state === 'open') await h.quick.closePr({ repository: spec.repository, number: state.checks.pr.number });
    // Nothing was created on this host before the checkout.
    if (state.checkout) await h.quick.cleanupTask({ taskId: spec.id, repository: state.checkout, deleteBranch: true });
  }

  async function finish(status: TaskStatus, summary: string): Promise<TaskResult> {
    // Where it ended, before cleanup moves the step on: the details mark that step with why.
    state.outcome = { status, step: state.step, summary };
    state.blocker = undefined;
    await cleanup();
    state.completedAt = now();
    enter('done', status);
    note(state, now(), summary);
    const event = status === 'merged' || status === 'rejected' || status === 'aborted' ? status : 'failed';
    if (spec.notifyOnComplete || status !== 'merged') await notify({ event, title: `${status}: ${spec.title}`, message: summary, link: state.checks.pr?.url });
    return { taskId: spec.id, status, pr: state.checks.pr?.number, mergeSha: state.merge?.sha, note: summary };
  }

  /** Why the task stopped short of a merge (reject or abort; abort when nothing says otherwise). */
  function stopped(): { kind: 'rejected' | 'aborted'; summary: string } {
    const s = stop ?? { kind: 'aborted' as const };
    return { kind: s.kind, summary: `${s.kind}${s.by ? ` by ${s.by}` : ''}${s.reason ? `: ${s.reason}` : ''}` };
  }

  // ---- the pipeline ----
  /**
   * One pass over the steps, resuming where the state says: 'again' to go round once more, 'stopped'
   * when an operator stopped the task, or the result once it merged. Read from the state alone, so a
   * continued-as-new run picks up mid-step.
   */
  async function pass(): Promise<'again' | 'stopped' | TaskResult> {
    if (!state.setup) await intakeAndScope();
    if (stop) return 'stopped';
    if (state.attempt > state.attemptLimit) {
      const last = state.attempts.at(-1)?.failure?.evidence.summary ?? 'no attempts left';
      return goOnAfter(`${state.attemptLimit} attempt(s) used; last failure: ${last}`, { respawn: true });
    }
    // Still in the handoff while the concept runs, and until the implementer's run has started.
    const conceptRun = state.conceptRun ?? 1;
    const conceptPending = !!state.setup!.concept && state.attempt === 1 && (!state.concept || state.session?.run === conceptRun);
    if (!current() || (conceptPending && state.session?.run === conceptRun)) {
      const handoff = conceptPending && patched(CONCEPT_HANDOFF_PATCH);
      try {
        if (!(await (handoff ? conceptHandoff() : spawn(promptSynthesis())))) return 'stopped';
      } catch (err) {
        // The operator fixes the host (sets the key, installs the CLI) and says `retry`: the task keeps its state.
        if (failureType(err) !== 'AgentMisconfigured' || !patched(AGENT_MISCONFIGURED_PATCH)) throw err;
        return goOnAfter(`the agent cannot start: ${(err as ActivityFailure).cause?.message ?? 'misconfigured'}`, { respawn: false });
      }
    }
    const record = current()!;
    const exit = record.exit ?? (await monitor());
    if (!exit) return 'stopped';
    const fault = exit.outcome?.failure;
    if (record.outcome !== 'verified' && (fault === 'rate_limited' || fault === 'server_error' || fault === 'auth') && patched(AGENT_FAULTS_PATCH)) {
      return (await agentFault({ ...exit.outcome!, failure: fault })) ? 'again' : 'stopped';
    }
    if (record.outcome !== 'verified') {
      const outcome = await stoppable(() => verify(exit));
      if (stop) return 'stopped';
      if (outcome === 'reviewer_failed') {
        const failed = state.checks.review!.results.filter((r) => r.status === 'failed');
        return goOnAfter(`reviewer(s) failed: ${failed.map((r) => `${r.reviewer}: ${r.error}`).join('; ')}`, { respawn: false });
      }
      if (outcome) {
        await failAttempt(outcome);
        return 'again';
      }
      Object.assign(record, { endedAt: record.endedAt ?? now(), outcome: 'verified' });
    }
    const gate = await humanGate();
    if (gate === 'merged') return finish('merged', `merged PR #${state.checks.pr!.number} as ${state.merge!.sha}`);
    if (gate === 'reverify') {
      record.outcome = undefined;
      return 'again';
    }
    return 'stopped';
  }

  /** Waits for a human (see `escalate`): 'again' once they said retry, 'stopped' if they stopped the task. */
  async function goOnAfter(blocker: string, opts: { respawn: boolean }): Promise<'again' | 'stopped'> {
    return (await escalate(blocker, opts)) ? 'again' : 'stopped';
  }

  /** Runs a verification a stop cancels (its reviewers and CI are killed); undefined once stopped. */
  async function stoppable<T>(run: () => Promise<T>): Promise<T | undefined> {
    if (!patched(STOP_CANCELS_PATCH)) return run();
    const scope = new CancellationScope();
    verification = scope;
    try {
      return await scope.run(run);
    } catch (err) {
      if (stop && isCancellation(err)) return undefined;
      throw err;
    } finally {
      verification = undefined;
    }
  }

  /** A pass whose host never picked up a step goes to a human, who says retry once the host is back. */
  async function untilHostAnswers(): Promise<'again' | 'stopped' | TaskResult> {
    try {
      return await pass();
    } catch (err) {
      if (!hostUnanswered(err) || !patched(HOST_UNANSWERED_PATCH)) throw err;
      const { queue, timeout } = unanswered!;
      const activity = (err as ActivityFailure).activityType;
      const blocker = `no worker of ${queue} picked up ${activity} within ${timeout}: start the host's worker (or fix its SWARM_HOST_ID)`;
      return goOnAfter(blocker, { respawn: false });
    }
  }

  /** The whole task: the result once merged; a rejected or aborted task throws its ending (see CLOSE_STATUS_PATCH). */
  async function run(): Promise<TaskResult> {
    try {
      for (;;) {
        const next = await untilHostAnswers();
        if (next === 'stopped') break;
        if (next !== 'again') return next;
      }
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() => finish('aborted', 'cancelled'));
        throw err;
      }
      // The step it failed at: finishing moves the task on to cleanup and done.
      const at = state.step;
      const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      const result = await CancellationScope.nonCancellable(() => finish('failed', `failed at ${at}: ${message}`));
      throw ApplicationFailure.create({ type: TASK_ENDED_FAILURE.failed, message: `task ${spec.id} ${result.note}`, nonRetryable: true, details: [result], cause: err instanceof Error ? err : undefined });
    }
    const result = await finish(stopped().kind, stopped().summary);
    if (!patched(CLOSE_STATUS_PATCH)) return result;
    throw ApplicationFailure.create({ type: TASK_ENDED_FAILURE[stopped().kind], message: `task ${spec.id} ${result.note}`, nonRetryable: true, details: [result] });
  }

  try {
    return await run();
  } finally {
    // A decision's update answers once the task has ended: let it, before the workflow closes.
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
}
