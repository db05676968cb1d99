// The host's agent cap under load: N concurrent tasks whose scripted agent sleeps AGENT_SLEEP_MS
// before it commits, each in its own repository, through to merge on a Temporal dev server with
// embedded Postgres (both workers in this process). The host configuration is the default one
// (`host.maxAgents` 3, the memory headroom) except `host.spawnHoldRetry`, shortened so that a
// held spawn checks again every SPAWN_HOLD_RETRY rather than every 30 s. While the tasks run, the
// agent sessions on the state folder's tmux server are listed every 100 ms.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { agentPaths } from '../../activities/agents/paths.ts';
import { createTmux } from '../../activities/agents/tmux.ts';
import { liveAgentSessions } from '../../activities/host/capacity.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { taskSession, taskWorkflowId } from '../../workflows/task/spec.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { sampleRepo } from '../harness/task-testbed.ts';
import { time, type JsonEvent } from './history-timing.ts';
import { ownHwm, sampleOwnRss } from './proc-memory.ts';
import { progress, seconds, sleep } from './util.ts';
import { benchSection, scriptedTaskSpec, driveTaskToMerge, startBenchWorld, WakeOnReadyNotifier, type Cleanup, type DrivenTask } from './world.ts';

const APPROVER = 'bench';
/** How long each scripted agent sleeps before it writes its file and commits. */
const AGENT_SLEEP_MS = 8_000;
/** host.spawnHoldRetry for this section (the default is 30s). */
const SPAWN_HOLD_RETRY = '2s';
const SESSION_SAMPLE_MS = 100;
/** How long one task may take from start to merge before the bench gives up. */
const TASK_TIMEOUT_MS = 600_000;

export interface AgentTaskRun extends DrivenTask {
  /** Its state showed `checks.spawnHold`, or its notes said "spawn held", at some poll or at the end. */
  held: boolean;
  /** The hold reasons seen in its state (agent_cap, low_memory). */
  holdReasons: string[];
  /** Bench start → its agent session first listed; undefined if no sample caught it. */
  sessionFirstMs?: number;
  /** Bench start → its agent session last listed. */
  sessionLastMs?: number;
  /** From its history: spawnCapacity activities run (one per check), and bench start → the last one completed and → spawnAgent completed. */
  capacityChecks: number;
  lastCheckMs?: number;
  spawnedMs?: number;
}

export interface AgentsResult {
  n: number;
  agentSleepMs: number;
  /** The host limits the run used, read back from the configuration. */
  maxAgents: number;
  minFreeMemoryMb: number;
  spawnHoldRetry: string;
  setupMs: number;
  wallMs: number;
  /** Most agent sessions listed at once, and when (ms after the start). */
  peakAgents: number;
  peakAt: number;
  /** tmux listings taken, and how many failed. */
  sessionSamples: number;
  sessionSampleErrors: number;
  tasks: AgentTaskRun[];
  /** This process (both workers, the client, the bench): RSS sampled every 100 ms while the tasks ran, and VmHWM at the end (setup included). */
  worker: { rssPeak: number; hwm: number; samples: number };
}

/** When (epoch ms, server time) each run of the named activity completed, from a workflow history. */
function activityCompletions(history: Parameters<typeof historyToJSON>[0], names: string[]): Record<string, number[]> {
  const events = (JSON.parse(historyToJSON(history)) as { events: JsonEvent[] }).events;
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const out: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (const e of events) {
    if (e.eventType !== 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED') continue;
    const scheduledId = (e.activityTaskCompletedEventAttributes as { scheduledEventId?: string } | undefined)?.scheduledEventId;
    const name = byId.get(scheduledId ?? '')?.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name && name in out) out[name]!.push(time(e));
  }
  return out;
}

/** Lists the agent sessions every `intervalMs` (one listing at a time) until stopped. */
function sampleSessions(socket: string, t0: number, intervalMs: number) {
  const tmux = createTmux(socket);
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  let peak = 0;
  let peakAt = 0;
  let samples = 0;
  let errors = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        const names = await liveAgentSessions(tmux);
        const at = performance.now() - t0;
        samples += 1;
        if (names.length > peak) [peak, peakAt] = [names.length, at];
        for (const name of names) {
          if (!first.has(name)) first.set(name, at);
          last.set(name, at);
        }
      } catch {
        errors += 1;
      }
      await sleep(Math.max(0, intervalMs - (performance.now() - started)));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { peak, peakAt, samples, errors, first, last };
    },
  };
}

export async function benchAgents({ n, pollMs = 250, keep = false, onCleanup }: { n: number; pollMs?: number; keep?: boolean; onCleanup: (fn: Cleanup) => () => void }): Promise<AgentsResult> {
  const { defer, cleanUp, logger, dir } = benchSection('agents', { keep, onCleanup });
  try {
    const setupStarted = performance.now();
    const notifier = new WakeOnReadyNotifier();
    const { env, config, orchestration, host } = await startBenchWorld({
      dir,
      id: `bench${process.pid}`,
      approver: APPROVER,
      notifier,
      logger,
      defer,
      label: 'agents',
      configEnv: { SWARM_SPAWN_HOLD_RETRY: SPAWN_HOLD_RETRY },
    });
    const limits = { maxAgents: config.host.maxAgents, minFreeMemoryMb: config.host.minFreeMemoryMb, spawnHoldRetry: String(config.host.spawnHoldRetry) };

    progress(`creating ${n} repositories (scripted agent sleeps ${seconds(AGENT_SLEEP_MS)}, then commits)`);
    const repos = Array.from({ length: n }, (_, i) =>
      sampleRepo({
        ci: [{ name: 'check', command: 'true' }],
        scenario: [{ sleepMs: AGENT_SLEEP_MS, files: { [`agent-${i}.txt`]: `task ${i}\n` }, commit: `bench: agent ${i}` }],
      }),
    );
    // sampleRepo writes under .swarmflow/test: remove those folders too.
    if (!keep) for (const repo of repos) defer(() => rmSync(dirname(repo), { recursive: true, force: true }));
    const client = SwarmClient.fromClient(env.client, config);
    const setupMs = performance.now() - setupStarted;

    const holds = new Map<string, Set<string>>();
    const watchHold = (id: string) => (state: TaskState) => {
      const reasons = holds.get(id) ?? new Set<string>();
      if (state.checks.spawnHold) reasons.add(state.checks.spawnHold.reason);
      else if (state.notes.some((note) => note.includes('spawn held'))) reasons.add('seen in the notes');
      if (reasons.size > 0) holds.set(id, reasons);
    };

    const runTask = async (i: number): Promise<DrivenTask> => {
      const id = `bench-agent-${i}`;
      const run = await driveTaskToMerge({
        client,
        notifier,
        approver: APPROVER,
        spec: scriptedTaskSpec(id, repos[i]!, `agent-${i}`, `Bench agent ${i}`),
        pollMs,
        timeoutMs: TASK_TIMEOUT_MS,
        onState: watchHold(id),
      });
      // A hold shorter than a poll leaves its note behind: read the notes once more after the merge.
      const final = await client.getTask(id).catch(() => undefined);
      if (final) watchHold(id)(final);
      return run;
    };

    progress(`running ${n} tasks concurrently (host.maxAgents ${limits.maxAgents}, host.spawnHoldRetry ${limits.spawnHoldRetry})`);
    let runs: DrivenTask[] = [];
    let wallMs = 0;
    const rss = sampleOwnRss(100);
    const started = performance.now();
    const startedEpoch = Date.now();
    const sessions = sampleSessions(agentPaths(config.stateDir).socket, started, SESSION_SAMPLE_MS);
    let seen: Awaited<ReturnType<typeof sessions.stop>>;
    let ownRss: { peak: number; samples: number };
    try {
      await orchestration.runUntil(
        host.runUntil(async () => {
          try {
            runs = await Promise.all(Array.from({ length: n }, (_, i) => runTask(i)));
          } finally {
            wallMs = performance.now() - started;
          }
        }),
      );
    } finally {
      seen = await sessions.stop();
      ownRss = rss.stop();
    }
    const hwm = ownHwm();
    progress(`all ${n} merged in ${seconds(wallMs)}; at most ${seen.peak} agents at once, ${holds.size} task(s) held`);

    const tasks: AgentTaskRun[] = [];
    for (const run of runs) {
      const history = await env.client.workflow.getHandle(taskWorkflowId(run.id)).fetchHistory();
      const { spawnCapacity: checks = [], spawnAgent: spawns = [] } = activityCompletions(history, ['spawnCapacity', 'spawnAgent']);
      const since = (at: number | undefined) => (at === undefined ? undefined : at - startedEpoch);
      tasks.push({
        ...run,
        held: holds.has(run.id),
        holdReasons: [...(holds.get(run.id) ?? [])],
        sessionFirstMs: seen.first.get(taskSession(run.id)),
        sessionLastMs: seen.last.get(taskSession(run.id)),
        capacityChecks: checks.length,
        lastCheckMs: since(checks.at(-1)),
        spawnedMs: since(spawns[0]),
      });
    }
    return {
      n,
      agentSleepMs: AGENT_SLEEP_MS,
      ...limits,
      setupMs,
      wallMs,
      peakAgents: seen.peak,
      peakAt: seen.peakAt,
      sessionSamples: seen.samples,
      sessionSampleErrors: seen.errors,
      tasks,
      worker: { rssPeak: ownRss.peak, hwm, samples: ownRss.samples },
    };
  } finally {
    progress('stopping the dev server and Postgres');
    await cleanUp();
  }
}
