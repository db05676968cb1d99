// N concurrent tasks with an instant scripted agent, each in its own repository, through to merge
// on a Temporal dev server with embedded Postgres. Both workers run in this process, with the
// SDK's default concurrency (createHostWorker and createOrchestrationWorker set none).
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { SwarmClient } from '../../client/swarm-client.ts';
import { taskWorkflowId } from '../../workflows/task/spec.ts';
import { sampleRepo } from '../harness/task-testbed.ts';
import { emptyBundle } from './bundles.ts';
import { emptyWorkflow } from './empty-workflow.ts';
import { historyTiming, type HistoryTiming } from './history-timing.ts';
import { ownHwm, sampleOwnRss, TreeMemorySampler, type MemoryPeak } from './proc-memory.ts';
import { threadCpuMs } from './thread-cpu.ts';
import { median, progress, seconds } from './util.ts';
import { benchSection, scriptedTaskSpec, driveTaskToMerge, startBenchWorld, WakeOnReadyNotifier, type Cleanup, type DrivenTask } from './world.ts';

const APPROVER = 'bench';
/** How long one task may take from start to merge before the bench gives up. */
const TASK_TIMEOUT_MS = 300_000;
/** Empty workflows run one after the other for the yardstick (after two to warm up). */
const EMPTY_RUNS = 20;

export interface TaskRun extends DrivenTask {
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
  /** An empty workflow's round trip (start → result), median of EMPTY_RUNS alone on the same dev server, before the tasks. */
  emptyRoundTripMs: number;
  /** CPU of the orchestration worker's workflow threads while the tasks ran. */
  workflowThreadCpuMs: number;
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
  const { defer, cleanUp, logger, dir } = benchSection('tasks', { keep, onCleanup });
  try {
    const setupStarted = performance.now();
    const notifier = new WakeOnReadyNotifier();
    // Orchestration overhead, not the host's agent cap (the agents section measures that): room for all N.
    const { env, config, orchestration, host, bundleMs, workflowThreads } = await startBenchWorld({ dir, id: `bench${process.pid}`, approver: APPROVER, notifier, logger, defer, label: 'tasks', configEnv: { SWARM_MAX_AGENTS: String(n) } });
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
    const emptyRoundTripMs = await emptyRoundTrip(env.nativeConnection, env.client, `bench-empty-${process.pid}`, await emptyBundle(logger));
    const setupMs = performance.now() - setupStarted;

    // Memory while the tasks run: this process's RSS every 100 ms, and the whole tree from /proc.
    const rss = sampleOwnRss(100);
    const tree = new TreeMemorySampler(process.pid, 100).start();

    const runTask = (i: number): Promise<DrivenTask> =>
      driveTaskToMerge({
        client,
        notifier,
        approver: APPROVER,
        spec: scriptedTaskSpec(`bench-${i}`, repos[i]!, `bench-${i}`, `Bench task ${i}`),
        pollMs,
        timeoutMs: TASK_TIMEOUT_MS,
      });

    let runs: DrivenTask[] = [];
    let wallMs = 0;
    let workflowThreadCpuMs = 0;
    let treePeak: MemoryPeak;
    let ownRss: { peak: number; samples: number };
    try {
      progress(`running ${n} tasks concurrently`);
      await orchestration.runUntil(
        host.runUntil(async () => {
          const started = performance.now();
          const cpuBefore = threadCpuMs(workflowThreads);
          try {
            runs = await Promise.all(Array.from({ length: n }, (_, i) => runTask(i)));
          } finally {
            wallMs = performance.now() - started;
            workflowThreadCpuMs = threadCpuMs(workflowThreads) - cpuBefore;
          }
        }),
      );
    } finally {
      ownRss = rss.stop();
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
    return { n, bundleMs, setupMs, wallMs, tasks, worker: { rssPeak: ownRss.peak, hwm, samples: ownRss.samples }, tree: treePeak, concurrency, emptyRoundTripMs, workflowThreadCpuMs };
  } finally {
    progress('stopping the dev server and Postgres');
    await cleanUp();
  }
}

/** Temporal's own round trip here: an empty workflow on its own worker and queue, started and awaited one at a time. */
async function emptyRoundTrip(connection: NativeConnection, client: Client, taskQueue: string, workflowBundle: { code: string }): Promise<number> {
  progress('timing an empty workflow\'s round trip');
  const worker = await Worker.create({ connection, taskQueue, workflowBundle });
  return worker.runUntil(async () => {
    const times: number[] = [];
    for (let i = 0; i < EMPTY_RUNS + 2; i++) {
      const started = performance.now();
      await client.workflow.execute(emptyWorkflow, { taskQueue, workflowId: `${taskQueue}-${i}` });
      if (i >= 2) times.push(performance.now() - started);
    }
    return median(times);
  });
}
