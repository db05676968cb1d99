// Agents on this host (host queue): the task's worktree, its agent in a detached tmux session on
// our own tmux server, the redirect into that session, and cleanup. Every input is validated
// before it touches git, tmux or a path; a bad one can never work, so it is not retried.
import { existsSync, rmSync } from 'node:fs';
import { z } from 'zod';
import { AGENT_KINDS, type AgentExit, type AgentSession, type Workspace } from '../../workflows/task/types.ts';
import { BranchName, RepoRelativePath, SafeAbsolutePath, Slug, taskSession } from '../../workflows/task/spec.ts';
import { parseInput } from '../errors.ts';
import { REDIRECT_MAX_CHARS } from '../../workflows/task/messages.ts';
import type { Db } from '../store/db.ts';
import { agentPaths } from './paths.ts';
import { DEFAULT_LOG_RETENTION_MS, keepTaskLogs, pruneKeptLogs } from './kept-logs.ts';
import type { PriceTable } from './adapters/cost.ts';
import { awaitAgentExit, killSession, sendToSession, sessionAttempt, spawnAgent, type Delivery } from './session.ts';
import { watchForStuck, type StuckWatchResult } from './stuck-watch.ts';
import { createTmux } from './tmux.ts';
import { earlierStartsWorkspace, prepareWorkspace, removeWorkspace } from './workspace.ts';
import { bootstrapWorkspace } from './bootstrap.ts';
import { sandboxSettings } from './sandboxed.ts';
import { reapTaskProcesses } from './reap.ts';
import { listTaskLeftovers } from './leftovers.ts';
import { closedTaskRun } from '../closed-task.ts';
import type { ReapOutcome, TaskLeftovers } from '../../workflows/reaper/types.ts';
import { getClient } from '@temporalio/activity';
import { detectMemoryLimit, memoryLimitedArgv, releaseMemoryLimit } from './memory-limit.ts';
import { spawnGate, type SpawnCapacity } from '../host/capacity.ts';
import { ConfigSchema, Destination, type Config } from '../../lib/config.ts';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';

const Attempt = z.number().int().min(1).max(1_000);

const AgentCommandSchema = z.object({
  name: z.string().min(1).max(100),
  kind: z.enum(AGENT_KINDS).default('command'),
  command: z
    .array(z.string().min(1).max(8_192).refine((arg) => !arg.includes('\0'), 'no NUL characters'))
    .min(1)
    .max(200)
    // `env NAME=VALUE… program` would read a program containing "=" as one more variable.
    .refine(([program]) => !program?.includes('='), 'the program (first element) must not contain "="'),
  passEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')).max(100),
  model: z.string().min(1).max(200).optional(),
  mode: z.enum(['headless', 'interactive']).optional(),
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
  baseUrl: z.string().url().optional(),
  args: z.array(z.string().max(8_192).refine((arg) => !arg.includes('\0'), 'no NUL characters')).max(100).optional(),
  retries: z.number().int().min(0).max(20).optional(),
});

const BootstrapSchema = z.object({
  envFiles: z.array(RepoRelativePath).max(50),
  install: z.object({ command: z.string().min(1).max(10_000), timeoutMs: z.number().int().positive() }).optional(),
  network: z.object({ allow: z.array(Destination).max(100) }).optional(),
});
// A task start's TaskState.runKey (a Temporal run id); '' for tasks started before run keys.
const RunKey = z.string().regex(/^[A-Za-z0-9-]{0,64}$/, 'a Temporal run id').default('');
const PrepareWorkspaceInput = z.object({ taskId: Slug, runKey: RunKey, repository: SafeAbsolutePath, baseBranch: BranchName, bootstrap: BootstrapSchema.default({ envFiles: [] }) });
// `run` defaults to 1: tasks started before respawns existed do not send it.
const Run = z.number().int().min(1).max(1_000).default(1);
const SpawnAgentInput = z.object({
  taskId: Slug,
  runKey: RunKey,
  attempt: Attempt,
  run: Run,
  // The fault's message plus the redirects the last run did not deliver.
  resumeWith: z.string().min(1).max(100_000).optional(),
  // A retry's focused correction: the earlier attempt whose CLI session `resumeWith` resumes.
  resumeAttempt: Attempt.optional(),
  worktree: SafeAbsolutePath,
  agent: AgentCommandSchema,
  prompt: z.string().min(1).max(1_000_000),
  port: z.number().int().min(1).max(65_535).optional(),
  // The repository policy's registries: what a sandboxed run may reach beside its model endpoint.
  network: z.array(Destination).max(100).optional(),
});
const AwaitAgentExitInput = z.object({
  taskId: Slug,
  attempt: Attempt,
  run: Run,
  worktree: SafeAbsolutePath,
  baseBranch: BranchName,
  /** The task's token budget left for this run: a run that streams more is stopped (its session killed). */
  tokensLeft: z.number().int().optional(),
  usdLeft: z.number().positive().optional(),
});
const WatchForStuckInput = z.object({
  taskId: Slug,
  attempt: Attempt,
  run: Run,
  worktree: SafeAbsolutePath,
  limits: z.object({ repeats: z.number().int().min(2).max(100), idleMinutes: z.number().int().min(1).max(24 * 60) }),
  eventsOffset: z.number().int().min(0).default(0),
  // A name sendToSession gave (see dropInInbox): it is joined to the inbox's path.
  afterCorrection: z.string().regex(/^\d{15}-[0-9a-f-]{36}(?:\.now)?\.msg$/, 'an inbox message name').optional(),
});
const TaskInput = z.object({ taskId: Slug });
const SendToSessionInput = z.object({ taskId: Slug, message: z.string().min(1).max(REDIRECT_MAX_CHARS), interrupt: z.boolean().optional() });
const CleanupTaskInput = z.object({ taskId: Slug, repository: SafeAbsolutePath, deleteBranch: z.boolean() });
const ReapTaskInput = z.object({ taskId: Slug, repositories: z.array(SafeAbsolutePath).max(100), closedBefore: z.iso.datetime() });

export type PrepareWorkspaceInput = z.input<typeof PrepareWorkspaceInput>;
export type SpawnAgentInput = z.input<typeof SpawnAgentInput>;
export type AwaitAgentExitInput = z.input<typeof AwaitAgentExitInput>;
export type WatchForStuckInput = z.input<typeof WatchForStuckInput>;
export type SendToSessionInput = z.input<typeof SendToSessionInput>;
export type CleanupTaskInput = z.input<typeof CleanupTaskInput>;
export type ReapTaskInput = z.input<typeof ReapTaskInput>;

/** What cleanupTask found and removed (all false on a second call). */
export interface CleanupResult {
  session: boolean;
  worktree: boolean;
  branch: boolean;
  /** The per-task folder: the agent's home and temp folder, prompts, wrapper scripts, logs. */
  taskFiles: boolean;
  /** Processes the agent left running (found by SWARM_TASK_ID) and killed. */
  leftovers: number;
  /** Runs of attempts whose logs were kept only now (the agent did not exit on its own, or its watch never ended). */
  logsKept: number;
}


/** This host's resource ceiling for agents (the configuration's `host` section). */
export type HostLimits = Config['host'];

export interface AgentActivityDeps {
  /** The state folder: worktrees, per-task files and the tmux socket live under it. */
  stateDir: string;
  db: Db;
  /** USD per million tokens, for CLIs that report no cost themselves. */
  prices?: PriceTable;
  limits?: HostLimits;
  /** How long kept logs stay after their task's start last wrote one (tasks.logRetention). */
  logRetentionMs?: number;
  /** The worker's secret files outside the state folder (see secretFiles in lib/config.ts): a sandboxed agent cannot read them. */
  secretFiles?: string[];
}

export function createAgentActivities({ stateDir, db, prices = {}, limits = ConfigSchema.shape.host.parse(undefined), logRetentionMs = DEFAULT_LOG_RETENTION_MS, secretFiles = [] }: AgentActivityDeps) {
  // Every path below is this folder plus slugs and numbers, so checking it once checks them all.
  const paths = agentPaths(SafeAbsolutePath.parse(stateDir));
  const tmux = createTmux(paths.socket);
  // Once per worker: on a cgroup v2 host this sets up the parent group.
  const memoryLimit = detectMemoryLimit();
  const limitMemory = (taskId: string, argv: string[]) => memoryLimitedArgv(memoryLimit, { taskId, limitMb: limits.agentMemoryLimitMb, argv });
  const sandbox = sandboxSettings(stateDir, limits, secretFiles);
  const deps = { paths, tmux, db, prices, limitMemory, sandbox, maxRuntime: { seconds: Math.ceil(msToNumber(limits.agentMaxRuntime as Duration) / 1000), label: limits.agentMaxRuntime }, maxDiskMb: limits.agentDiskMb };
  const workspacePaths = (taskId: string) => ({ clone: paths.worktree(taskId), record: paths.workspaceRecord(taskId), bundle: paths.originBundle(taskId) });
  // One gate per worker process: the host's agents are this worker's.
  const gate = spawnGate({ tmux, maxAgents: limits.maxAgents, minFreeMemoryMb: limits.minFreeMemoryMb });

  /**
   * Everything the task has on this host, its branch in each repository given (none known: the
   * clone and the files still go). Idempotent: a second call removes nothing.
   */
  async function removeTaskFromHost(taskId: string, repositories: string[], deleteBranch: boolean): Promise<CleanupResult> {
    // The agent first, so nothing writes into the worktree while it is removed.
    const groups = await killSession(tmux, taskSession(taskId));
    const session = groups.length > 0;
    const leftovers = reapTaskProcesses(taskId, groups);
    if (memoryLimit.mechanism === 'cgroup2') await releaseMemoryLimit(taskId);
    // Its logs outlive the task: kept while the workspace record still names the start, then its folder goes.
    const logsKept = await keepTaskLogs(paths, taskId);
    const taskDir = paths.taskDir(taskId);
    const taskFiles = existsSync(taskDir);
    rmSync(taskDir, { recursive: true, force: true });
    const removed = { worktree: false, branch: false };
    for (const repository of repositories.length > 0 ? repositories : [undefined]) {
      const { worktree, branch } = await removeWorkspace(repository, taskId, workspacePaths(taskId), deleteBranch);
      removed.worktree ||= worktree;
      removed.branch ||= branch;
    }
    await pruneKeptLogs(paths, logRetentionMs);
    return { session, ...removed, taskFiles, leftovers, logsKept };
  }

  return {
    /** Step 3: `swarm/<id>` from the base in the repository and a clone of it at `<stateDir>/worktrees/<id>`, or the existing one. */
    prepareWorkspace: async (input: PrepareWorkspaceInput): Promise<Workspace> => {
      const valid = parseInput(PrepareWorkspaceInput, input, 'prepareWorkspace');
      // An earlier start of this id that Temporal ended before its cleanup left its clone, session and branch: they go first.
      const earlier = earlierStartsWorkspace(paths.workspaceRecord(valid.taskId), valid.runKey);
      if (earlier) await removeTaskFromHost(valid.taskId, [earlier.checkout], true);
      const workspace = await prepareWorkspace(valid, workspacePaths(valid.taskId));
      const { port, bootstrap } = await bootstrapWorkspace({ taskId: valid.taskId, repository: valid.repository, worktree: workspace.worktree, taskDir: paths.taskDir(valid.taskId), home: paths.home(valid.taskId), bootstrap: valid.bootstrap, sandbox });
      return { ...workspace, port, bootstrap };
    },

    /**
     * Step 3, before a spawn: whether this host has room for one more agent (the agent cap, the
     * memory headroom). When not, the workflow holds the spawn on a durable timer of `retryInMs`.
     */
    spawnCapacity: async (input: { taskId: string }): Promise<SpawnCapacity & { retryInMs: number; memoryLimit: string }> => {
      const { taskId } = parseInput(TaskInput, input, 'spawnCapacity');
      const capacity = await gate.check(taskSession(taskId));
      return { ...capacity, retryInMs: msToNumber(limits.spawnHoldRetry as Duration), memoryLimit: `${memoryLimit.mechanism}, ${limits.agentMemoryLimitMb} MB` };
    },

    /** Step 3: the attempt's agent in the task's tmux session; a re-run finds it instead of spawning again. */
    spawnAgent: async (input: SpawnAgentInput): Promise<AgentSession> => spawnAgent(deps, parseInput(SpawnAgentInput, input, 'spawnAgent')),

    /** Waits (heartbeating, cancellable) for the attempt to exit, then reports what it left on the branch. */
    awaitAgentExit: async (input: AwaitAgentExitInput): Promise<AgentExit> => awaitAgentExit(deps, parseInput(AwaitAgentExitInput, input, 'awaitAgentExit')),

    /** While the attempt runs (heartbeating, cancellable): returns once the agent is stuck (see stuck-watch.ts), or when the run ends. */
    watchForStuck: async (input: WatchForStuckInput): Promise<StuckWatchResult> => watchForStuck(deps, parseInput(WatchForStuckInput, input, 'watchForStuck')),

    sessionAlive: async (input: { taskId: string }): Promise<{ alive: boolean }> => {
      const { taskId } = parseInput(TaskInput, input, 'sessionAlive');
      return { alive: (await sessionAttempt(tmux, taskSession(taskId))) !== undefined };
    },

    /** The redirect: queued in a headless CLI's inbox (its next turn), else typed into the live session. */
    sendToSession: async (input: SendToSessionInput): Promise<Delivery> => sendToSession(deps, parseInput(SendToSessionInput, input, 'sendToSession')),

    /** Step 8 (and on reject, cancel, failure): idempotent, a second call removes nothing. */
    cleanupTask: async (input: CleanupTaskInput): Promise<CleanupResult> => {
      const { taskId, repository, deleteBranch } = parseInput(CleanupTaskInput, input, 'cleanupTask');
      return removeTaskFromHost(taskId, [repository], deleteBranch);
    },

    /** The reaper: every task id that has something on this host. */
    listTaskLeftovers: async (): Promise<TaskLeftovers[]> => listTaskLeftovers(paths, tmux),

    /**
     * The reaper: removes what the task left here, as its own cleanup would, if its workflow closed
     * before `closedBefore`. Temporal is asked here, right before removing, so a retry or a task
     * started again meanwhile is never reaped.
     */
    reapTask: async (input: ReapTaskInput): Promise<ReapOutcome> => {
      const { taskId, repositories, closedBefore } = parseInput(ReapTaskInput, input, 'reapTask');
      const run = await closedTaskRun(getClient(), taskId, new Date(closedBefore));
      if ('kept' in run) return { kept: { taskId, reason: run.kept } };
      const removed = await removeTaskFromHost(taskId, repositories, true);
      const { openPr } = run.closed;
      return { removed: { taskId, workflowStatus: run.closed.status, closedAt: run.closed.closedAt.toISOString(), ...removed }, ...(openPr ? { openPr } : {}) };
    },
  };
}

export type AgentActivities = ReturnType<typeof createAgentActivities>;
