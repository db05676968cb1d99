// A deploy of new workflow code while tasks run, on the dev server: release N's orchestration
// worker is stopped with one task at the approval gate and one whose agent is still working, and
// release N+1's takes over the same queue (docs/SCALING.md, "Deploys": patched() and unversioned
// workers, not Worker Versioning). N+1 is today's code with one more patched() branch in the
// spawn (test/fixtures/release-next): the tasks that spawned on N must replay down N's path, a
// new task must take N+1's. Every task must end merged, none failed, no side effect done twice,
// and every history must replay on N+1.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { loadConfig } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { createHostWorker, createOrchestrationWorker, WORKFLOWS_PATH } from '../../workers/workers.ts';
import { taskWorkflowId } from '../../workflows/task/spec.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { NEXT_RELEASE_NOTE, NEXT_RELEASE_PATCH } from '../fixtures/release-next/spawn.ts';
import { approversEnv } from '../harness/approvers.ts';
import { tempDir } from '../harness/paths.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { devServerEnv, workflowBundle } from '../harness/temporal.ts';
import { eventually, RecordingNotifier, sampleRepo } from '../harness/task-testbed.ts';

const RELEASE_NEXT_SPAWN = join(PROJECT_ROOT, 'test', 'fixtures', 'release-next', 'spawn.ts');

/** Release N+1's bundle: the workflow's `./steps/spawn.ts` is the fixture's, which wraps today's. */
async function nextReleaseBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new SwarmLogger({ level: 'WARN' }),
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [
        ...(config.plugins ?? []),
        {
          apply(compiler) {
            compiler.hooks.normalModuleFactory.tap('release-next', (factory) => {
              factory.hooks.beforeResolve.tap('release-next', (data) => {
                if (data.request === './steps/spawn.ts' && data.context.endsWith(join('workflows', 'task'))) data.request = RELEASE_NEXT_SPAWN;
              });
            });
          },
        },
      ],
    }),
  });
  return code;
}

let env: TestWorkflowEnvironment;
let database: TestDatabase;
beforeAll(async () => {
  env = await devServerEnv();
  database = await freshDatabase();
});
afterAll(async () => {
  await env?.teardown();
  await database?.drop();
});

const spec = (id: string, repository: string) => ({ id, repository, title: `Write ${id}.txt`, description: `Write ${id}.txt and commit it.`, acceptanceCriteria: [`${id}.txt exists`], shape: 'backend' as const, agent: 'scripted' });
const repoFor = (id: string, sleepMs = 0) => sampleRepo({ ci: [{ name: 'check', command: 'true' }], scenario: [{ files: { [`${id}.txt`]: `${id}\n` }, commit: `Write ${id}.txt`, sleepMs }] });

describe('a deploy while tasks run', () => {
  it("release N's tasks, at the gate and mid-agent, finish on release N+1 down N's path; a new task takes N+1's; none fails or repeats a side effect", async () => {
    const next = await nextReleaseBundle();
    const id = `deploy${process.pid}`;
    const config = loadConfig({ env: { SWARM_STATE_DIR: tempDir('deploy-state'), SWARM_HOST_ID: id, SWARM_ORCHESTRATION_QUEUE: `orchestration-${id}`, ...approversEnv(['alice']) } });
    config.reviewers = [];
    const logger = new SwarmLogger({ level: 'WARN' });
    const notifier = new RecordingNotifier();
    const deps = { connection: env.nativeConnection, config, db: database.db, logger, notifier, searchAttributes: true };
    const client = SwarmClient.fromClient(env.client, config);
    const state = (taskId: string) => client.getTask(taskId);
    const until = (taskId: string, done: (s: TaskState) => boolean) => eventually(() => state(taskId), done, 120_000);

    const host = await createHostWorker({ connection: env.nativeConnection, config, db: database.db });
    const hostRun = host.run();
    try {
      // Release N: one task to the gate, one whose agent works for 8 s.
      const releaseN = await createOrchestrationWorker({ ...deps, workflowBundle });
      const runningN = releaseN.run();
      await client.startTask(spec('at-gate', repoFor('at-gate')));
      await client.startTask(spec('mid-agent', repoFor('mid-agent', 8_000)));
      await until('at-gate', (s) => s.status === 'awaiting_approval');
      await until('mid-agent', (s) => s.step === 'monitor');
      releaseN.shutdown();
      await runningN;

      // Release N+1 on the same queue: the tasks go on where they were, and a new one starts on it.
      const releaseNext = await createOrchestrationWorker({ ...deps, workflowBundle: { code: next } });
      const finals = await releaseNext.runUntil(async () => {
        await client.startTask(spec('after', repoFor('after')));
        for (const taskId of ['at-gate', 'mid-agent', 'after']) {
          await until(taskId, (s) => s.status === 'awaiting_approval');
          await client.decide(taskId, { decision: 'approve', by: 'alice' });
          expect(await client.result(taskId)).toMatchObject({ status: 'merged' });
        }
        // The state is read by a query: while a worker serves the queue.
        return Promise.all(['at-gate', 'mid-agent', 'after'].map((taskId) => state(taskId)));
      });

      for (const final of finals) {
        const taskId = final.spec.id;
        // Only the task that spawned on N+1 took its new path.
        const onNext = taskId === 'after';
        expect(final.notes.filter((n) => n.includes(NEXT_RELEASE_NOTE))).toHaveLength(onNext ? 1 : 0);
        // One agent run, one PR, one approval asked for: nothing done again across the switch.
        expect(final.notes.filter((n) => n.includes(' started in tmux session '))).toHaveLength(1);
        expect(final.attempts).toHaveLength(1);
        expect(notifier.sent.filter((n) => n.taskId === taskId).map((n) => n.event)).toEqual(['ready_for_approval', 'merged']);
        const keys = (await listArtifacts(database.db, taskId)).map((a) => a.key);
        expect(new Set(keys).size).toBe(keys.length);
        // No workflow task failed (a nondeterminism would), and the history replays on N+1.
        const history = await env.client.workflow.getHandle(taskWorkflowId(taskId)).fetchHistory();
        expect(history.events!.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
        const markers = history.events!.flatMap((e) => (e.markerRecordedEventAttributes?.markerName === 'core_patch' ? [Buffer.from(e.markerRecordedEventAttributes.details!['patch-data']!.payloads![0]!.data!).toString()] : []));
        expect(markers.some((m) => m.includes(NEXT_RELEASE_PATCH))).toBe(onNext);
        await Worker.runReplayHistory({ workflowBundle: { code: next } }, history, taskWorkflowId(taskId));
      }
    } finally {
      host.shutdown();
      await hostRun;
    }
  });
});
