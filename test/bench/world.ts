// What a bench section needs to run real tasks: the workflow bundle, embedded Postgres with a
// fresh database, a Temporal dev server, a configuration, and both workers (in this process);
// and the client's side of one task, from start through approval to merge.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { Notifier } from '../../activities/notify/notifier.ts';
import type { SwarmClient } from '../../client/swarm-client.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { loadConfig, type Approver, type Config } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { startEmbeddedPostgres } from '../../workers/embedded-postgres.ts';
import { createHostWorker, createOrchestrationWorker } from '../../workers/workers.ts';
import { approversEnv } from '../harness/approvers.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { devServerEnv } from '../harness/temporal.ts';
import type { TaskSpecInput } from '../../workflows/task/spec.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { TERMINAL_STATUSES, type Notification } from '../../workflows/task/types.ts';
import { taskBundle } from './bundles.ts';
import { threadIds } from './thread-cpu.ts';
import { benchDir, progress, seconds, withTimeout } from './util.ts';

export interface BenchWorld {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  config: Config;
  orchestration: Worker;
  host: Worker;
  bundleMs: number;
  /** The orchestration worker's workflow threads (see thread-cpu.ts). */
  workflowThreads: string[];
}

/** `configEnv`: more configuration variables (SWARM_…), on top of the defaults and the ones set here. */
export async function startBenchWorld(opts: {
  dir: string;
  id: string;
  /** A name (given a key, see approvers.ts), or an approver with the identities it proves itself by. */
  approver: string | Approver;
  notifier: Notifier;
  logger: SwarmLogger;
  defer: (fn: () => unknown) => void;
  label: string;
  configEnv?: Record<string, string>;
}): Promise<BenchWorld> {
  const { dir, id, approver, notifier, logger, defer, label, configEnv = {} } = opts;
  progress(`${label}: building the workflow bundle`);
  const { code, bundleMs } = await taskBundle(logger);

  progress(`${label}: starting embedded Postgres`);
  mkdirSync(join(dir, 'pg'));
  chmodSync(join(dir, 'pg'), 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg', 'data'), port: await freePort(), logger });
  defer(() => pg.stop());
  // freshDatabase (the suites' helper) reads the admin URL from here: CREATE DATABASE + migrate.
  process.env.SWARM_TEST_DATABASE_URL = pg.url.replace(/\/[^/]+$/, '/postgres');
  const database = await freshDatabase();
  defer(() => database.drop());

  progress(`${label}: starting the Temporal dev server`);
  const env = await devServerEnv();
  defer(() => env.teardown());

  const config = loadConfig({ env: { ...configEnv, SWARM_STATE_DIR: join(dir, 'state'), SWARM_HOST_ID: id, SWARM_ORCHESTRATION_QUEUE: `orchestration-${id}`, ...approversEnv([approver]) } });
  config.reviewers = [];
  // The agents' tmux server, on the state folder's own socket: stopped with the rest.
  defer(() => {
    try {
      execFileSync('tmux', ['-S', agentPaths(config.stateDir).socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // no server left: its last session already ended
    }
  });
  // The SDK starts the workflow threads as the worker is created: the threads that appear now.
  const threadsBefore = threadIds();
  const orchestration = await createOrchestrationWorker({ connection: env.nativeConnection, config, db: database.db, logger, notifier, workflowBundle: { code }, searchAttributes: true });
  const workflowThreads = [...threadIds()].filter((tid) => !threadsBefore.has(tid));
  const host = await createHostWorker({ connection: env.nativeConnection, config, db: database.db });
  return { env, database, config, orchestration, host, bundleMs, workflowThreads };
}

/** Records nothing; wakes the poll loop of a task as soon as it reports ready_for_approval. */
export class WakeOnReadyNotifier implements Notifier {
  private readonly waiters = new Map<string, () => void>();
  readonly ready = new Set<string>();

  send(n: Notification): Promise<void> {
    if (n.event === 'ready_for_approval') {
      this.ready.add(n.taskId);
      this.waiters.get(n.taskId)?.();
    }
    return Promise.resolve();
  }

  /** Resolves after `ms`, or earlier when the task reports it is ready. */
  wait(taskId: string, ms: number): Promise<void> {
    if (this.ready.has(taskId)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.set(taskId, done);
    });
  }
}

export interface DrivenTask {
  id: string;
  /** Client-side: startTask called → the poll saw awaiting_approval. */
  toReadyMs: number;
  /** Client-side: the poll saw awaiting_approval → decide returned. */
  approveMs: number;
  /** Client-side: decide returned → result() resolved as merged. */
  toMergeMs: number;
  /** Client-side: startTask called → merged. */
  startToMergedMs: number;
  polls: number;
  status: string;
}

/**
 * One task from the client's side: starts it, polls its state every `pollMs` (sooner when the
 * notifier says it is ready) until it awaits approval, approves it and waits for the merge.
 * `onState` sees every state a poll reads. Throws when the task ends otherwise, needs a human,
 * or is not merged within `timeoutMs` of its start.
 */
export async function driveTaskToMerge(opts: {
  client: SwarmClient;
  notifier: WakeOnReadyNotifier;
  approver: string;
  spec: TaskSpecInput & { id: string };
  pollMs: number;
  timeoutMs: number;
  onState?: (state: TaskState) => void;
}): Promise<DrivenTask> {
  const { client, notifier, approver, spec, pollMs, timeoutMs, onState } = opts;
  const taskId = spec.id;
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  await client.startTask(spec);
  let polls = 0;
  for (;;) {
    await notifier.wait(taskId, pollMs);
    polls += 1;
    const state = await client.getTask(taskId).catch(() => undefined); // not queryable yet: poll again
    if (state) onState?.(state);
    if (state?.status === 'awaiting_approval' && state.dod?.readyForApproval) break;
    if (state && (TERMINAL_STATUSES.includes(state.status) || state.status === 'needs_human')) {
      throw new Error(`task ${taskId} is ${state.status} at ${state.step}: ${state.notes.slice(-3).join(' | ')}`);
    }
    if (performance.now() > deadline) throw new Error(`task ${taskId} not ready for approval in ${seconds(timeoutMs)} (last: ${state?.status}/${state?.step})`);
  }
  const tReady = performance.now();
  await client.decide(taskId, { decision: 'approve', by: approver });
  const tApproved = performance.now();
  const result = await withTimeout(client.result(taskId), Math.max(1_000, deadline - tApproved), `task ${taskId} result`);
  const tMerged = performance.now();
  if (result.status !== 'merged') throw new Error(`task ${taskId} ended ${result.status}: ${result.note}`);
  return { id: taskId, toReadyMs: tReady - t0, approveMs: tApproved - tReady, toMergeMs: tMerged - tApproved, startToMergedMs: tMerged - t0, polls, status: result.status };
}

export type Cleanup = () => unknown;

/**
 * Steps to undo, run newest first by `run()` at the end of a section, or by the bench's Ctrl-C
 * handler (`onCleanup`) if it is interrupted: nothing is left running either way.
 */
export function cleanupStack(onCleanup: (fn: Cleanup) => () => void): { defer: (fn: Cleanup) => void; run: () => Promise<void> } {
  const steps: Cleanup[] = [];
  const runAll = async () => {
    for (const fn of steps.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        progress(`cleanup: ${(err as Error).message}`);
      }
    }
  };
  const unregister = onCleanup(runAll);
  return {
    defer: (fn) => void steps.push(fn),
    run: async () => {
      await runAll();
      unregister();
    },
  };
}

/**
 * What every section starts with: its cleanup stack, a quiet logger and a scratch folder that
 * goes with the cleanup unless `keep`.
 */
export function benchSection(name: string, { keep, onCleanup }: { keep: boolean; onCleanup: (fn: Cleanup) => () => void }) {
  const { defer, run: cleanUp } = cleanupStack(onCleanup);
  const logger = new SwarmLogger({ level: 'WARN' });
  const dir = benchDir(name);
  if (!keep) defer(() => rmSync(dir, { recursive: true, force: true }));
  return { defer, cleanUp, logger, dir };
}

/** A task for the scripted agent that writes `<name>.txt` and commits it. */
export const scriptedTaskSpec = (id: string, repository: string, name: string, title: string): TaskSpecInput & { id: string } => ({
  id,
  repository,
  title,
  description: `Write ${name}.txt and commit it.`,
  acceptanceCriteria: [`${name}.txt exists`],
  shape: 'backend',
  agent: 'scripted',
});
