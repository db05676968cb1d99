// The typed client other services import: start and steer tasks, read their state. It connects
// from the same configuration as the workers. Specs are validated here, before anything starts.
// Published as @swarmflow/client (packages/client): it imports no worker, activity or workflow
// code, only the workflow's types and the messages and schemas it shares with the workflow.
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  isGrpcServiceError,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, rootCause } from '@temporalio/common';
import { hostQueue, hostQueueOf, loadConfig, type Config } from '../lib/config.ts';
import { connectionOptions } from '../lib/temporal.ts';
import { signDecision, type SigningKey } from '../lib/keys.ts';
import { findApproverKey } from './approver-key.ts';
import {
  TASK_ENDED_FAILURE,
  abortInputProblem,
  abortUpdate,
  approveSignal,
  decideInputProblem,
  decideUpdate,
  forgeEventSignal,
  redirectProblem,
  redirectUpdate,
  rejectSignal,
  retryInputProblem,
  retryUpdate,
  senderProblem,
  stateQuery,
  type AbortInput,
  type ApproveInput,
  type CommandResult,
  type DecideInput,
  type ForgeEvent,
  type RedirectResult,
  type RejectInput,
  type TaskResult,
  type TaskWorkflow,
} from '../workflows/task/messages.ts';
import { routeAgent } from '../workflows/policy/routing.ts';
import { parseNote, type NoteInput, type NoteSummary, type SaveReport } from '../workflows/context/notes.ts';
import { InvalidTaskSpecError, parseTaskSpec, repositoryFairnessKey, taskDisplay, taskPriority, taskWorkflowId, type TaskSpec, type TaskSpecInput } from '../workflows/task/spec.ts';
import type { TaskState } from '../workflows/task/state.ts';
import { registryEntry, type RegistryEntry, type RegistryStatus } from '../workflows/task/registry.ts';
import { TERMINAL_STATUSES } from '../workflows/task/types.ts';
import { resolveEndpoints, type Endpoints } from './endpoints.ts';
import { issueIntakeWorkflowId, type IssueIntakeInput, type IssueIntakeResult, type IssueIntakeWorkflow } from '../workflows/intake/types.ts';

/** gRPC's status code for a method the server does not implement. */
const GRPC_UNIMPLEMENTED = 12;

export interface StartedTask {
  taskId: string;
  workflowId: string;
  /** False when this task (the same spec) is already running or already merged: starting is idempotent on the id and spec. */
  started: boolean;
  /** The run this start created or found. */
  runId?: string;
  /** Set when the id's earlier run had ended without a merge and this start began a new run. */
  previousRun?: { runId: string; status: string };
  /** What the task found is doing (for started: false): running, or merged. */
  existing?: 'running' | 'merged';
}

/** A start refused for a task id whose run (running, or merged) holds another spec, or a merged one. */
export class TaskIdTakenError extends Error {
  constructor(
    readonly taskId: string,
    readonly reason: string,
  ) {
    super(`task ${taskId} not started: ${reason}`);
    this.name = 'TaskIdTakenError';
  }
}

/**
 * Starts the intake of a GitHub issue, one workflow per issue: a second start while one runs joins
 * it; a later one runs again, and finds the issue's task already started.
 */
export function startIssueIntake(temporal: Client, orchestrationQueue: string, input: IssueIntakeInput): Promise<WorkflowHandle<IssueIntakeWorkflow>> {
  const { repository, number, trigger } = input;
  return temporal.workflow.start<IssueIntakeWorkflow>('issueIntake', {
    taskQueue: orchestrationQueue,
    workflowId: issueIntakeWorkflowId(repository, number),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    // Its GitHub calls take turns with other repositories' (the task it starts gets its own priority).
    priority: { fairnessKey: repositoryFairnessKey(repository) },
    staticSummary: `intake of ${repository}#${number}${trigger.kind === 'label' ? ` (labelled ${trigger.label})` : ' (swarm task start --from-issue)'}`,
  });
}

/** A page of the task registry, newest first. */
export interface RegistryPage {
  entries: RegistryEntry[];
  /** More tasks matched than the limit. */
  more: boolean;
}

/** A spec field's value for a one-line comparison. */
const shown = (v: unknown) => {
  const text = JSON.stringify(v) ?? 'absent';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** The fields in which two specs differ, as "field: running X, given Y". */
export function specDifference(running: TaskSpec, given: TaskSpec): string[] {
  const keys = [...new Set([...Object.keys(running), ...Object.keys(given)])] as Array<keyof TaskSpec>;
  return keys.filter((k) => JSON.stringify(running[k]) !== JSON.stringify(given[k])).map((k) => `${k}: running ${shown(running[k])}, given ${shown(given[k])}`);
}

/** The TaskResult a task workflow closed with: its return value, or the details of its ending failure. */
function endedResult(err: unknown): TaskResult | undefined {
  if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const types: readonly string[] = Object.values(TASK_ENDED_FAILURE);
  return types.includes(err.cause.type ?? '') ? (err.cause.details?.[0] as TaskResult | undefined) : undefined;
}

/**
 * The spec, validated, whose agent (named, or routed by shape) this configuration has: what can
 * be checked without a server. The workers' configuration still decides at intake.
 */
export function startableSpec(input: TaskSpecInput, config: Config): TaskSpec {
  const spec = parseTaskSpec(input);
  try {
    routeAgent(spec, config.routing, Object.keys(config.agents));
  } catch (err) {
    throw new InvalidTaskSpecError([`${spec.agent ? 'agent' : 'shape'}: ${(err as Error).message}`]);
  }
  return spec;
}

/** How a decision is signed: with this key (else the approver's own, found by name), for this head (else the task's head now). */
export interface SignOptions {
  key?: SigningKey;
  headSha?: string;
}

export interface ConnectOptions {
  config?: Config;
  /** Overrides the resolved Temporal address. */
  address?: string;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
}

/** A message refused before it was sent: its text cannot be carried into the task. */
export class InvalidMessageError extends Error {
  constructor(
    readonly command: 'redirect' | 'retry' | 'abort' | 'approval' | 'rejection',
    readonly problem: string,
  ) {
    super(`${command} refused: ${problem}`);
    this.name = 'InvalidMessageError';
  }
}

/** A message sent to a task that has already ended: nothing it asks can take effect. */
export class TaskEndedError extends Error {
  constructor(
    readonly taskId: string,
    readonly status: TaskState['status'],
    command: InvalidMessageError['command'],
  ) {
    super(`${command} refused: task ${taskId} has ended (${status})`);
    this.name = 'TaskEndedError';
  }
}

/** No Temporal server answered where the configuration says the stack is. */
export class TemporalUnreachableError extends Error {
  constructor(
    readonly address: string,
    from: string,
    cause: unknown,
  ) {
    super(
      `no Temporal server answers at ${address} (${from}): ${(cause as Error).message.split('\n')[0]}. Start the stack with \`npm start\` in the swarmflow checkout, or set TEMPORAL_ADDRESS to your cluster's host:port`,
      { cause },
    );
    this.name = 'TemporalUnreachableError';
  }
}

export class SwarmClient {
  private constructor(
    readonly config: Config,
    readonly endpoints: Endpoints,
    readonly temporal: Client,
  ) {}

  static async connect({ config = loadConfig(), address, connectTimeoutMs = 5_000 }: ConnectOptions = {}): Promise<SwarmClient> {
    const endpoints = resolveEndpoints(config);
    if (address) endpoints.temporalAddress = address;
    const connection = await Connection.connect({ ...connectionOptions(config, endpoints.temporalAddress), connectTimeout: connectTimeoutMs }).catch((err: unknown) => {
      const from = address ? 'the address given to SwarmClient.connect' : config.temporal.address ? 'TEMPORAL_ADDRESS' : endpoints.stack ? `the stack file in ${config.stateDir}` : 'the embedded default';
      throw new TemporalUnreachableError(endpoints.temporalAddress, from, err);
    });
    return new SwarmClient(config, endpoints, new Client({ connection, namespace: config.temporal.namespace }));
  }

  /** Wraps a Temporal client the caller already has (its connection stays the caller's to close). */
  static fromClient(temporal: Client, config: Config = loadConfig()): SwarmClient {
    return new SwarmClient(config, resolveEndpoints(config), temporal);
  }

  async close(): Promise<void> {
    await this.temporal.connection.close();
  }

  /** How many workers poll each of the project's task queues right now. */
  async pollers(): Promise<Array<{ taskQueue: string; kind: 'orchestration' | 'host'; pollers: number }>> {
    const queues = [
      { taskQueue: this.config.workers.orchestrationQueue, kind: 'orchestration' as const, type: 1 as const /* workflow tasks */ },
      { taskQueue: hostQueue(this.config), kind: 'host' as const, type: 2 as const /* activity tasks */ },
    ];
    return Promise.all(queues.map(async ({ taskQueue, kind, type }) => ({ taskQueue, kind, pollers: await this.pollerCount(taskQueue, type) })));
  }

  /** How many workers polled this queue for workflow (1) or activity (2) tasks lately (the server keeps pollers seen in the last minutes). */
  private async pollerCount(taskQueue: string, type: 1 | 2): Promise<number> {
    const res = await this.temporal.workflowService.describeTaskQueue({ namespace: this.config.temporal.namespace, taskQueue: { name: taskQueue }, taskQueueType: type });
    return res.pollers?.length ?? 0;
  }

  /**
   * Starts the task workflow `task-<id>`. Idempotent on the id and spec: the same spec while it
   * runs (or once merged) answers `started: false`. An id whose last run failed, was rejected,
   * aborted, cancelled or terminated starts a new run. Refused, with TaskIdTakenError: a different
   * spec for a running task (the difference named), and any start of a merged task's id with a
   * different spec. A spec this stack cannot carry out (an agent it does not configure, a host no
   * worker serves) is refused with the field named, instead of starting a task that fails or waits forever.
   */
  async startTask(input: TaskSpecInput): Promise<StartedTask> {
    const spec = startableSpec(input, this.config);
    if (spec.host && !(await this.hostServed(spec.host))) {
      throw new InvalidTaskSpecError([
        `host: no worker serves host "${spec.host}" (its task queue ${hostQueueOf(spec.host)} has no poller); start a worker there with SWARM_HOST_ID=${spec.host}, or leave host out to use ${hostQueue(this.config)}`,
      ]);
    }
    const workflowId = taskWorkflowId(spec.id);
    const base = { taskId: spec.id, workflowId };
    const previous = await this.latestRun(spec.id);
    if (previous?.status.name === 'RUNNING') return { ...base, ...(await this.sameRunningTask(spec, previous)) };
    if (previous?.status.name === 'COMPLETED') {
      // Completed means merged (a task that closed before rejections failed its workflow may also be rejected or aborted).
      const result = await this.temporal.workflow.getHandle<TaskWorkflow>(workflowId, previous.runId).result();
      if (result.status === 'merged') {
        const difference = specDifference(await this.specOf(previous), spec);
        if (difference.length > 0) throw new TaskIdTakenError(spec.id, `it was merged (PR #${result.pr ?? '?'}) with another spec (${difference.join('; ')}); a new task needs a new id`);
        return { ...base, started: false, runId: previous.runId, existing: 'merged' };
      }
    }
    try {
      // By name: the workflow's code stays out of the client (its type is all the client needs).
      const started = await this.temporal.workflow.start<TaskWorkflow>('task', {
        taskQueue: this.config.workers.orchestrationQueue,
        workflowId,
        args: [{ spec }],
        // A closed run that did not merge may be started again (checked above); a running one is never joined blindly.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        memo: { spec },
        // Its level first, then repositories in turn; its activities (the host's too) inherit it.
        priority: taskPriority(spec),
        ...taskDisplay(spec),
      });
      return { ...base, started: true, runId: started.firstExecutionRunId, ...(previous ? { previousRun: { runId: previous.runId, status: previous.status.name } } : {}) };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Another start won the race: the same spec is that task, another is refused.
      const running = await this.latestRun(spec.id);
      if (running?.status.name !== 'RUNNING') throw err;
      return { ...base, ...(await this.sameRunningTask(spec, running)) };
    }
  }

  /** A GitHub issue taken in as its intake label would be (`swarm task start --from-issue`): the intake's answer. */
  async intakeIssue(repository: string, number: number): Promise<IssueIntakeResult> {
    const handle = await startIssueIntake(this.temporal, this.config.workers.orchestrationQueue, { repository, number, trigger: { kind: 'cli' } });
    try {
      return await handle.result();
    } catch (err) {
      // GitHub not configured, a token without `Issues: read`: the activity's own words, not "Workflow execution failed".
      if (err instanceof WorkflowFailedError) throw new Error(`the intake of ${repository}#${number} failed: ${rootCause(err.cause) ?? err.message}`, { cause: err });
      throw err;
    }
  }

  /** The status of the task's latest run (RUNNING, COMPLETED, FAILED, …), or undefined when its id was never started. */
  async lastRunStatus(taskId: string): Promise<string | undefined> {
    return (await this.latestRun(taskId))?.status.name;
  }

  /** The latest run of the task's workflow, or undefined when the id was never started. */
  private async latestRun(taskId: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.temporal.workflow.getHandle(taskWorkflowId(taskId)).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** The spec a run was started with: from its memo, else (a run that continued as new) its state. */
  private async specOf(run: WorkflowExecutionDescription): Promise<TaskSpec> {
    const memo = run.memo?.spec as TaskSpec | undefined;
    return memo ?? (await this.temporal.workflow.getHandle(run.workflowId, run.runId).query(stateQuery)).spec;
  }

  private async sameRunningTask(spec: TaskSpec, run: WorkflowExecutionDescription): Promise<Omit<StartedTask, 'taskId' | 'workflowId'>> {
    const difference = specDifference(await this.specOf(run), spec);
    if (difference.length > 0) throw new TaskIdTakenError(spec.id, `it is running with another spec (${difference.join('; ')}); abort it first, or use a new id`);
    return { started: false, runId: run.runId, existing: 'running' };
  }

  /**
   * Whether a worker polled the host's queue for activities lately. A server that cannot say (the
   * time-skipping test server) is taken at its word that it can run the task: the workflow still
   * sends an unanswered host to a human.
   */
  private async hostServed(host: string): Promise<boolean> {
    try {
      return (await this.pollerCount(hostQueueOf(host), 2)) > 0;
    } catch (err) {
      if (isGrpcServiceError(err) && Number(err.code) === GRPC_UNIMPLEMENTED) return true;
      throw err;
    }
  }

  private handle(taskId: string): WorkflowHandle<TaskWorkflow> {
    return this.temporal.workflow.getHandle<TaskWorkflow>(taskWorkflowId(taskId));
  }

  /**
   * Adds notes to the business context vault (or updates those with the same source or text),
   * through the orchestration workers, which hold the database: each note is validated here first
   * (InvalidNoteError names every field to fix, and nothing is sent).
   */
  async addContextNotes(notes: NoteInput[]): Promise<SaveReport> {
    const valid = notes.map((n, i) => parseNote(n, notes.length > 1 ? `#${i + 1}` : ''));
    if (valid.length === 0) return { notes: [] };
    return this.temporal.workflow.execute<(n: NoteInput[]) => Promise<SaveReport>>('vaultAdd', { taskQueue: this.config.workers.orchestrationQueue, workflowId: `context-add-${randomUUID()}`, args: [valid] });
  }

  /** The vault's notes, newest first (with a repository: its notes and those about none), without their bodies. */
  async listContextNotes(filter: { repository?: string } = {}): Promise<NoteSummary[]> {
    return this.temporal.workflow.execute<(f: { repository?: string }) => Promise<NoteSummary[]>>('vaultList', { taskQueue: this.config.workers.orchestrationQueue, workflowId: `context-list-${randomUUID()}`, args: [filter] });
  }

  /** The task's full typed state (running or finished). */
  async getTask(taskId: string): Promise<TaskState> {
    return this.handle(taskId).query(stateQuery);
  }

  /**
   * The task registry from Temporal's visibility, newest first: each task's entry is in its memo
   * (kept by the workflow), so no task is queried; only tasks older than the memo are. A workflow
   * Temporal ended without running task code (terminated, timed out) shows as such. `status`
   * filters the tasks, each by its newest run (an id started again after a failure is not
   * `failed`), so it is applied here, after the earlier runs are set aside, not in the query.
   */
  async registry({ limit = 100, status }: { limit?: number; status?: RegistryStatus } = {}): Promise<RegistryPage> {
    const entries: RegistryEntry[] = [];
    const seen = new Set<string>();
    const query = "WorkflowType = 'task' AND ExecutionStatus != 'ContinuedAsNew'";
    for await (const wf of this.temporal.workflow.list({ query, pageSize: Math.min(Math.max(limit + 1, 10), 1_000) })) {
      // An id started again lists its earlier runs too: the newest is the task.
      if (seen.has(wf.workflowId)) continue;
      seen.add(wf.workflowId);
      const entry = await this.entryOf(wf);
      if (!entry || (status && entry.status !== status)) continue;
      if (entries.length === limit) return { entries, more: true };
      entries.push(entry);
    }
    return { entries, more: false };
  }

  private async entryOf(wf: WorkflowExecutionInfo): Promise<RegistryEntry | undefined> {
    const memo = wf.memo?.registry as RegistryEntry | undefined;
    const status = wf.status.name;
    if (status === 'TERMINATED' || status === 'TIMED_OUT') {
      const id = memo?.id ?? wf.workflowId.replace(/^task-/, '');
      return {
        id,
        status: status === 'TERMINATED' ? 'terminated' : 'timed_out',
        pr: memo && 'pr' in memo ? memo.pr : null,
        completedAt: wf.closeTime?.getTime() ?? null,
        checks: {},
        note: `${status === 'TERMINATED' ? 'terminated' : 'timed out'} in Temporal: no task code ran after that; the reaper removes its clone, session and branch`,
      };
    }
    if (memo) return memo;
    try {
      return registryEntry(await this.temporal.workflow.getHandle(wf.workflowId, wf.runId).query(stateQuery));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Approves by signal (no answer: a refusal is only in the task's notes), signed like `decide`. */
  async approve(taskId: string, input: ApproveInput, options: SignOptions = {}): Promise<void> {
    const { signed } = await this.withProof(taskId, { decision: 'approve', ...input }, options);
    await this.handle(taskId).signal(approveSignal, signed ? { ...input, signed } : input);
  }

  /** Rejects by signal (no answer: a refusal is only in the task's notes), signed like `decide`. */
  async reject(taskId: string, input: RejectInput, options: SignOptions = {}): Promise<void> {
    const { signed } = await this.withProof(taskId, { decision: 'reject', ...input }, options);
    await this.handle(taskId).signal(rejectSignal, signed ? { ...input, signed } : input);
  }

  /** The decision with its proof: as given, else signed with `by`'s key (see client/approver-key.ts) for `headSha` or the task's head now; unsigned with no key. */
  private async withProof<D extends DecideInput>(taskId: string, input: D, { key, headSha }: SignOptions): Promise<D> {
    if (input.signed) return input;
    const signer = key ?? findApproverKey(this.config, input.by).key;
    if (!signer) return input;
    const head = headSha ?? (await this.getTask(taskId)).checks.pr?.headSha ?? '';
    return { ...input, signed: signDecision(signer, { taskId, headSha: head, decision: input.decision }) };
  }

  /**
   * Approve or reject with a synchronous answer: throws when the workflow refuses (DoD unmet, not an
   * approver, no valid proof, the merge under way; the refusal is in the task's notes). Unless the
   * input carries its proof, it is signed here with `by`'s key (see client/approver-key.ts) for
   * `headSha`, by default the PR head the task has now; with no key it goes unsigned.
   */
  async decide(taskId: string, input: DecideInput, options: SignOptions = {}): Promise<TaskState> {
    const problem = decideInputProblem(input);
    if (problem) throw new InvalidMessageError(input.decision === 'approve' ? 'approval' : 'rejection', problem);
    return this.steer(taskId, input.decision === 'approve' ? 'approval' : 'rejection', async () =>
      this.handle(taskId).executeUpdate(decideUpdate, { args: [await this.withProof(taskId, input, options)] }),
    );
  }

  /**
   * Steers the agent; answers whether it has the message or where it is queued. Throws an
   * InvalidMessageError, before sending anything, for text no agent could take; the workflow
   * refuses it too (WorkflowUpdateFailedError), and also once the task has ended.
   */
  async redirect(taskId: string, message: string, by?: string): Promise<RedirectResult> {
    const problem = redirectProblem(message) ?? senderProblem(by);
    if (problem) throw new InvalidMessageError('redirect', problem);
    return this.steer(taskId, 'redirect', () => this.handle(taskId).executeUpdate(redirectUpdate, { args: [{ message, ...(by === undefined ? {} : { by }) }] }));
  }

  /**
   * Gives a task waiting for a human one more go, with guidance for the agent; answers what the
   * task does now. Throws InvalidMessageError for text it cannot carry, and WorkflowUpdateFailedError
   * when the task is not waiting for a human.
   */
  async retry(taskId: string, guidance: string, by?: string): Promise<CommandResult> {
    const input = { guidance, ...(by === undefined ? {} : { by }) };
    const problem = retryInputProblem(input);
    if (problem) throw new InvalidMessageError('retry', problem);
    return this.steer(taskId, 'retry', () => this.handle(taskId).executeUpdate(retryUpdate, { args: [input] }));
  }

  /** Tells the task a forge webhook saw its PR, checks or reviews change. */
  async forgeEvent(taskId: string, event: ForgeEvent): Promise<void> {
    await this.handle(taskId).signal(forgeEventSignal, event);
  }

  /**
   * Stops the task and cleans up; answers what the task does now. Throws InvalidMessageError for
   * text it cannot carry, and WorkflowUpdateFailedError once the merge is under way or the task has ended.
   */
  async abort(taskId: string, input: AbortInput = {}): Promise<CommandResult> {
    const problem = abortInputProblem(input);
    if (problem) throw new InvalidMessageError('abort', problem);
    return this.steer(taskId, 'abort', () => this.handle(taskId).executeUpdate(abortUpdate, { args: [input] }));
  }

  /** Runs an update; a task that has already ended answers TaskEndedError with its final status. */
  private async steer<R>(taskId: string, command: InvalidMessageError['command'], update: () => Promise<R>): Promise<R> {
    try {
      return await update();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // The server answers an update to a closed workflow as "not found"; its state is still there.
      const ended = await this.getTask(taskId).catch(() => undefined);
      if (ended) throw new TaskEndedError(taskId, ended.status, command);
      throw err;
    }
  }

  /**
   * The task's result once it has finished, however it ended (merged, rejected, aborted, failed):
   * the workflow closes as failed for all but a merge, with the result in the failure's details.
   */
  async result(taskId: string): Promise<TaskResult> {
    try {
      return await this.handle(taskId).result();
    } catch (err) {
      const ended = endedResult(err);
      if (ended) return ended;
      throw err;
    }
  }

  /** Yields the task's state each time it changes, until it finishes. */
  async *watch(taskId: string, { intervalMs = 1_000 }: { intervalMs?: number } = {}): AsyncGenerator<TaskState> {
    let last = '';
    for (;;) {
      const state = await this.getTask(taskId);
      const seen = JSON.stringify(state);
      if (seen !== last) {
        last = seen;
        yield state;
      }
      if (TERMINAL_STATUSES.includes(state.status) && state.step === 'done') return;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
