// `swarm tasks` at N tasks: N real task workflows on a dev server (each fails at intake on a
// repository path that does not exist, so it closes FAILED with its registry entry in its memo
// and its reason in SwarmReason, as any ended task), then the registry read three ways:
//   client    SwarmClient.registry({ limit: N }) in this process: visibility list pages only
//   cli       `swarm tasks --limit N --json` as an operator runs it (process start included)
//   queried   what listing cost before the memo: one state query per task (for comparison)
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Notifier } from '../../activities/notify/notifier.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { stateQuery } from '../../workflows/task/messages.ts';
import { taskWorkflowId } from '../../workflows/task/spec.ts';
import type { RegistryEntry } from '../../workflows/task/registry.ts';
import { swarm } from '../harness/stack-process.ts';
import { median, progress, seconds, sleep } from './util.ts';
import { benchSection, startBenchWorld, type Cleanup } from './world.ts';

const RUNS = 3;
const STARTS_AT_ONCE = 20;
const SETTLE_TIMEOUT_MS = 300_000;

export interface RegistryResult {
  n: number;
  setupMs: number;
  /** Each of RUNS reads of the whole registry. */
  clientMs: number[];
  cliMs: number[];
  /** One read of every task's state by query, one task at a time. */
  queriedMs: number;
  listed: number;
}

export async function benchRegistry({ n, keep = false, onCleanup }: { n: number; keep?: boolean; onCleanup: (fn: Cleanup) => () => void }): Promise<RegistryResult> {
  const { defer, cleanUp, logger, dir } = benchSection('registry', { keep, onCleanup });
  try {
    const setupStarted = performance.now();
    const notifier: Notifier = { send: () => Promise.resolve() };
    const { env, config, orchestration, host } = await startBenchWorld({ dir, id: `benchreg${process.pid}`, approver: 'bench', notifier, logger, defer, label: 'registry' });
    const client = SwarmClient.fromClient(env.client, config);
    const ids = Array.from({ length: n }, (_, i) => `bench-list-${String(i).padStart(4, '0')}`);
    let result: RegistryResult | undefined;
    await orchestration.runUntil(
      host.runUntil(async () => {
        progress(`registry: starting ${n} tasks (each fails at intake) and waiting for them to close`);
        for (let i = 0; i < ids.length; i += STARTS_AT_ONCE) {
          await Promise.all(
            ids.slice(i, i + STARTS_AT_ONCE).map((id) =>
              client.startTask({ id, repository: join(dir, 'no-such-repo'), title: `List bench ${id}`, description: 'Fails at intake.', acceptanceCriteria: ['none'], shape: 'backend', agent: 'scripted' }),
            ),
          );
        }
        const deadline = performance.now() + SETTLE_TIMEOUT_MS;
        while ((await env.client.workflow.count(`WorkflowType = 'task' AND ExecutionStatus = 'Failed'`)).count < n) {
          if (performance.now() > deadline) throw new Error(`registry: not all ${n} tasks closed in ${seconds(SETTLE_TIMEOUT_MS)}`);
          await sleep(500);
        }
        const setupMs = performance.now() - setupStarted;

        progress(`registry: reading it ${RUNS} times in process and ${RUNS} times through the CLI`);
        const clientMs: number[] = [];
        let listed = 0;
        for (let run = 0; run < RUNS; run++) {
          const t0 = performance.now();
          const page = await client.registry({ limit: n });
          clientMs.push(performance.now() - t0);
          listed = page.entries.length;
        }
        const cliEnv = { ...process.env, TEMPORAL_ADDRESS: env.address, SWARM_ORCHESTRATION_QUEUE: config.workers.orchestrationQueue, SWARM_HOST_ID: config.workers.hostId };
        const cliMs: number[] = [];
        for (let run = 0; run < RUNS; run++) {
          const t0 = performance.now();
          const res = swarm(cliEnv, 'tasks', '--limit', String(n), '--json');
          cliMs.push(performance.now() - t0);
          if (res.code !== 0) throw new Error(`registry: swarm tasks exited ${res.code}: ${res.stderr}`);
          const entries = JSON.parse(res.stdout) as RegistryEntry[];
          if (entries.length !== n) throw new Error(`registry: swarm tasks listed ${entries.length} tasks, not ${n}`);
        }

        progress(`registry: querying each task's state, one at a time (the listing before the memo)`);
        const t0 = performance.now();
        for (const id of ids) await env.client.workflow.getHandle(taskWorkflowId(id)).query(stateQuery);
        result = { n, setupMs, clientMs, cliMs, queriedMs: performance.now() - t0, listed };
      }),
    );
    return result!;
  } finally {
    await cleanUp();
  }
}

export function registryText(r: RegistryResult): string[] {
  const all = (values: number[]) => values.map((v) => seconds(v).replace(' s', '')).join(', ');
  return [
    `registry: ${r.n} ended tasks listed (${r.listed} entries; setup ${seconds(r.setupMs)}, not counted)`,
    `  SwarmClient.registry, visibility pages only: median ${seconds(median(r.clientMs))} (${all(r.clientMs)} s)`,
    `  \`swarm tasks --limit ${r.n} --json\`, the process included: median ${seconds(median(r.cliMs))} (${all(r.cliMs)} s)`,
    `  for comparison, one state query per task: ${seconds(r.queriedMs)}`,
  ];
}
