// N concurrent tasks with an instant scripted agent, each in its own repository, through to merge
// on a Temporal dev server with embedded Postgres. Both workers run in this process, with the
// SDK's default concurrency (createHostWorker and createOrchestrationWorker set none).
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Worker } from '@temporalio/worker';
import type { Notifier } from '../../activities/notify/notifier.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { taskWorkflowId } from '../../workflows/task/spec.ts';
import { TERMINAL_STATUSES, type Notification } from '../../workflows/task/types.ts';
import { sampleRepo } from '../harness/task-testbed.ts';
import { historyTiming, type HistoryTiming } from './history-timing.ts';
import { ownHwm, TreeMemorySampler, type MemoryPeak } from './proc-memory.ts';
import { benchDir, progress, seconds, withTimeout } from './util.ts';
import { cleanupStack, startBenchWorld, type Cleanup } from './world.ts';

const APPROVER = 'bench';
/** How long one task may take from start to merge before the bench gives up. */
const TASK_TIMEOUT_MS = 300_000;

export interface TaskRun {
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
  timing: HistoryTiming;
}

export interface WorkerConcurrency {
  orchestration: { workflowTaskSlots?: number; activitySlots?: number; maxCachedWorkflows?: number };
  host: { activitySlots?: number };
}

export interface TasksResult {
  n: number;
  bundleMs: number;
  setupMs: number;
  wallMs: number;
  tasks: TaskRun[];
  /** This process (both workers, the client, the bench): RSS sampled every 100 ms, and VmHWM at the end. */
  worker: { rssPeak: number; hwm: number; samples: number };
  /** The process tree: this process, the dev server, Postgres (its backends included). */
  tree: MemoryPeak;
  concurrency: WorkerConcurrency;
}

/** Records nothing; wakes the poll loop of a task as soon as it reports ready_for_approval. */
class WakeOnReadyNotifier implements Notifier {
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

function concurrencyOf(worker: Worker): { workflowTaskSlots?: number; activitySlots?: number; maxCachedWorkflows?: number } {
  // The compiled options carry the fixed-size slot suppliers the SDK defaults to.
  const o = worker.options as unknown as {
    maxCachedWorkflows?: number;
    tuner?: { workflowTaskSlotSupplier?: { numSlots?: number }; activityTaskSlotSupplier?: { numSlots?: number } };
  };
  return { workflowTaskSlots: o.tuner?.workflowTaskSlotSupplier?.numSlots, activitySlots: o.tuner?.activityTaskSlotSupplier?.numSlots, maxCachedWorkflows: o.maxCachedWorkflows };
}


export async function benchTasks({ n, pollMs = 250, keep = false, onCleanup }: { n: number; pollMs?: number; keep?: boolean; onCleanup: (fn: Cleanup) => () => void }): Promise<TasksResult> {
  const { defer, run: cleanUp } = cleanupStack(onCleanup);
  const logger = new SwarmLogger({ level: 'WARN' });
  const dir = benchDir('tasks');
  if (!keep) defer(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const setupStarted = performance.now();
    const notifier = new WakeOnReadyNotifier();
    const { env, config, orchestration, host, bundleMs } = await startBenchWorld({ dir, id: `bench${process.pid}`, approver: APPROVER, notifier, logger, defer, label: 'tasks' });
    const concurrency: WorkerConcurrency = { orchestration: concurrencyOf(orchestration), host: { activitySlots: concurrencyOf(host).activitySlots } };

    progress(`creating ${n} repositories`);
    const repos = Array.from({ length: n }, (_, i) =>
      sampleRepo({
        ci: [{ name: 'check', command: 'true' }],
        scenario: [{ files: { [`bench-${i}.txt`]: `task ${i}\n` }, commit: `bench: task ${i}` }],
      }),
    );
    // sampleRepo writes under .swarmflow/test: remove those folders too.
    if (!keep) for (const repo of repos) defer(() => rmSync(dirname(repo), { recursive: true, force: true }));
    const client = SwarmClient.fromClient(env.client, config);
    const setupMs = performance.now() - setupStarted;

    // Memory while the tasks run: this process's RSS every 100 ms, and the whole tree from /proc.
    let rssPeak = process.memoryUsage().rss;
    let rssSamples = 1;
    const rssTimer = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      rssSamples += 1;
    }, 100);
    const tree = new TreeMemorySampler(process.pid, 100).start();

    const runTask = async (i: number): Promise<Omit<TaskRun, 'timing'>> => {
      const taskId = `bench-${i}`;
      const t0 = performance.now();
      const deadline = t0 + TASK_TIMEOUT_MS;
      await client.startTask({
        id: taskId,
        repository: repos[i]!,
        title: `Bench task ${i}`,
        description: `Write bench-${i}.txt and commit it.`,
        acceptanceCriteria: [`bench-${i}.txt exists`],
        shape: 'backend',
        agent: 'scripted',
      });
      let polls = 0;
      for (;;) {
        await notifier.wait(taskId, pollMs);
        polls += 1;
        const state = await client.getTask(taskId).catch(() => undefined); // not queryable yet: poll again
        if (state?.status === 'awaiting_approval' && state.dod?.readyForApproval) break;
        if (state && (TERMINAL_STATUSES.includes(state.status) || state.status === 'needs_human')) {
          throw new Error(`task ${taskId} is ${state.status} at ${state.step}: ${state.notes.slice(-3).join(' | ')}`);
        }
        if (performance.now() > deadline) throw new Error(`task ${taskId} not ready for approval in ${seconds(TASK_TIMEOUT_MS)} (last: ${state?.status}/${state?.step})`);
      }
      const tReady = performance.now();
      await client.decide(taskId, { decision: 'approve', by: APPROVER });
      const tApproved = performance.now();
      const result = await withTimeout(client.result(taskId), Math.max(1_000, deadline - tApproved), `task ${taskId} result`);
      const tMerged = performance.now();
      if (result.status !== 'merged') throw new Error(`task ${taskId} ended ${result.status}: ${result.note}`);
      return { id: taskId, toReadyMs: tReady - t0, approveMs: tApproved - tReady, toMergeMs: tMerged - tApproved, startToMergedMs: tMerged - t0, polls, status: result.status };
    };

    let runs: Array<Omit<TaskRun, 'timing'>> = [];
    let wallMs = 0;
    let treePeak: MemoryPeak;
    try {
      progress(`running ${n} tasks concurrently`);
      await orchestration.runUntil(
        host.runUntil(async () => {
          const started = performance.now();
          try {
            runs = await Promise.all(Array.from({ length: n }, (_, i) => runTask(i)));
          } finally {
            wallMs = performance.now() - started;
          }
        }),
      );
    } finally {
      clearInterval(rssTimer);
      tree.sample();
      treePeak = tree.stop();
    }
    const hwm = ownHwm();
    progress(`all ${n} merged in ${seconds(wallMs)}; reading histories`);

    const tasks: TaskRun[] = [];
    for (const run of runs) {
      const history = await env.client.workflow.getHandle(taskWorkflowId(run.id)).fetchHistory();
      tasks.push({ ...run, timing: historyTiming(history) });
    }
    return { n, bundleMs, setupMs, wallMs, tasks, worker: { rssPeak, hwm, samples: rssSamples }, tree: treePeak, concurrency };
  } finally {
    progress('stopping the dev server and Postgres');
    await cleanUp();
  }
}
