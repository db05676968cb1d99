// How fast a task moves again after its worker dies. One task on a dev server with embedded
// Postgres, its workers in a child process (`node workers/start.ts` against them, as in
// production): each step that has work in flight (the worktree bootstrap, the agent run, the
// review, CI) is slowed down so the bench can SIGKILL the worker while that step's activity runs,
// then start a new worker at once. Measured per step: the new worker's start until "ready", and
// the kill until the interrupted activity runs again on the new worker (the server noticed the
// lost worker, retried the activity, the new worker picked it up).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodePendingActivityState } from '@temporalio/client';
import { SwarmClient } from '../../client/swarm-client.ts';
import { loadConfig } from '../../lib/config.ts';
import { freePort } from '../../lib/ports.ts';
import { startDevServer } from '../../workers/temporal-dev-server.ts';
import { startEmbeddedPostgres } from '../../workers/embedded-postgres.ts';
import { taskWorkflowId } from '../../workflows/task/spec.ts';
import { approversEnv } from '../harness/approvers.ts';
import { freshDatabase } from '../harness/postgres.ts';
import { startStackProcess, type StackProcess } from '../harness/stack-process.ts';
import { sampleRepo } from '../harness/task-testbed.ts';
import { progress, sleep, withTimeout } from './util.ts';
import { benchSection, scriptedTaskSpec, type Cleanup } from './world.ts';

const APPROVER = 'bench';
/** Each slowed step runs this long, so a kill lands while it runs and the retry still has work to do. */
const STEP_SECONDS = 45;

/** The steps killed, in the order the task reaches them, with the activity in flight then. */
const KILLS = [
  { step: 'spawn', activity: 'prepareWorkspace', what: 'worktree bootstrap (install command)' },
  { step: 'monitor', activity: 'awaitAgentExit', what: 'agent run' },
  { step: 'review', activity: 'runReviewers', what: 'review' },
  { step: 'gates', activity: 'runCi', what: 'CI' },
] as const;

export interface KillRecovery {
  step: string;
  activity: string;
  what: string;
  /** The replacement worker process: spawn → "swarmflow is ready". */
  restartMs: number;
  /** SIGKILL → the activity runs again (a later attempt started on the new worker). */
  recoveredMs: number;
  attemptBefore: number;
  attemptAfter: number;
}

export interface KillRecoveryResult {
  firstStartMs: number;
  kills: KillRecovery[];
  status: string;
}

export async function benchKillRecovery({ keep = false, onCleanup }: { keep?: boolean; onCleanup: (fn: Cleanup) => () => void }): Promise<KillRecoveryResult> {
  const { defer, cleanUp, logger, dir } = benchSection('kill-recovery', { keep, onCleanup });
  try {
    progress('kill-recovery: starting embedded Postgres and the Temporal dev server');
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort(), logger });
    defer(() => pg.stop());
    process.env.SWARM_TEST_DATABASE_URL = pg.url.replace(/\/[^/]+$/, '/postgres');
    const database = await freshDatabase();
    defer(() => database.drop());
    const server = await startDevServer({ dbFilename: join(dir, 'temporal.db'), port: await freePort(), headless: true, logger });
    defer(() => server.stop());

    const slow = `sleep ${STEP_SECONDS}`;
    const configFile = join(dir, 'swarmflow.config.json');
    writeFileSync(configFile, JSON.stringify({ reviewers: [{ name: 'slow', command: ['sh', '-c', `cat > /dev/null; ${slow}; echo '{"findings": []}'`] }] }));
    const id = `kill${process.pid}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SWARM_CONFIG: configFile,
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: database.url,
      SWARM_STATE_DIR: join(dir, 'state'),
      SWARM_HOST_ID: id,
      SWARM_ORCHESTRATION_QUEUE: `orchestration-${id}`,
      ...approversEnv([APPROVER]),
      SWARM_LOG_FORMAT: 'json',
      SWARM_LOG_LEVEL: 'WARN',
    };
    const client = await SwarmClient.connect({ config: loadConfig({ env }) });
    defer(() => client.close());

    let worker: StackProcess | undefined;
    defer(async () => {
      worker?.child.kill('SIGKILL');
      await worker?.exit;
    });
    const startWorker = async () => {
      const t0 = performance.now();
      worker = await startStackProcess(env);
      return performance.now() - t0;
    };
    progress('kill-recovery: starting the workers');
    const firstStartMs = await startWorker();

    const repo = sampleRepo({
      ci: [{ name: 'slow', command: `${slow} && true`, timeout: '10m' }],
      // The install command is the slow part of the worktree bootstrap.
      bootstrap: { install: { command: slow, timeout: '10m' } },
      scenario: [{ files: { 'feature.txt': 'done\n' }, commit: 'Add the feature', sleepMs: STEP_SECONDS * 1_000 }],
    });

    const taskId = 'kill-recovery';
    const handle = client.temporal.workflow.getHandle(taskWorkflowId(taskId));
    await client.startTask(scriptedTaskSpec(taskId, repo, 'feature', 'Survive worker kills'));
    const pending = async (activity: string) => {
      const { raw } = await handle.describe();
      return raw.pendingActivities?.find((a) => a.activityType?.name === activity);
    };

    const kills: KillRecovery[] = [];
    for (const k of KILLS) {
      progress(`kill-recovery: waiting for ${k.activity} (${k.what}) to run`);
      let before: Awaited<ReturnType<typeof pending>>;
      await withTimeout(
        (async () => {
          for (;;) {
            before = await pending(k.activity);
            if (decodePendingActivityState(before?.state) === 'STARTED') return;
            await sleep(100);
          }
        })(),
        300_000,
        `${k.activity} to start`,
      );
      await sleep(2_000); // well inside the step, not at its first instant
      const attemptBefore = before!.attempt ?? 1;
      progress(`kill-recovery: SIGKILL of the worker during ${k.what} (attempt ${attemptBefore})`);
      const killedAt = performance.now();
      worker!.child.kill('SIGKILL');
      await worker!.exit;
      const restartMs = await startWorker();
      const attemptAfter = await withTimeout(
        (async () => {
          for (;;) {
            const now = await pending(k.activity);
            if (now && decodePendingActivityState(now.state) === 'STARTED' && (now.attempt ?? 1) > attemptBefore) return now.attempt ?? 1;
            await sleep(100);
          }
        })(),
        600_000,
        `${k.activity} to run again`,
      );
      const recoveredMs = performance.now() - killedAt;
      kills.push({ step: k.step, activity: k.activity, what: k.what, restartMs, recoveredMs, attemptBefore, attemptAfter });
      progress(`kill-recovery: ${k.what} ran again after ${(recoveredMs / 1000).toFixed(1)} s (worker ready in ${(restartMs / 1000).toFixed(1)} s)`);
    }

    progress('kill-recovery: approving and waiting for the merge');
    const ready = async () => (await client.getTask(taskId)).status === 'awaiting_approval';
    await withTimeout(
      (async () => {
        while (!(await ready())) await sleep(500);
      })(),
      600_000,
      'the task to await approval',
    );
    await client.decide(taskId, { decision: 'approve', by: APPROVER });
    const result = await withTimeout(client.result(taskId), 120_000, 'the merge');
    return { firstStartMs, kills, status: result.status };
  } finally {
    await cleanUp();
  }
}
