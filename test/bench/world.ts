// What a bench section needs to run real tasks: the workflow bundle, embedded Postgres with a
// fresh database, a Temporal dev server, a configuration, and both workers (in this process).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { Notifier } from '../../activities/notify/notifier.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import type { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { startEmbeddedPostgres } from '../../workers/embedded-postgres.ts';
import { bundleWorkflows, createHostWorker, createOrchestrationWorker } from '../../workers/workers.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { progress } from './util.ts';

export interface BenchWorld {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  config: Config;
  orchestration: Worker;
  host: Worker;
  bundleMs: number;
}

export async function startBenchWorld(opts: { dir: string; id: string; approver: string; notifier: Notifier; logger: SwarmLogger; defer: (fn: () => unknown) => void; label: string }): Promise<BenchWorld> {
  const { dir, id, approver, notifier, logger, defer, label } = opts;
  progress(`${label}: building the workflow bundle`);
  const bundleStarted = performance.now();
  const { code } = await bundleWorkflows(logger);
  const bundleMs = performance.now() - bundleStarted;

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

  const config = loadConfig({ env: { SWARM_STATE_DIR: join(dir, 'state'), SWARM_HOST_ID: id, SWARM_ORCHESTRATION_QUEUE: `orchestration-${id}`, SWARM_APPROVERS: approver } });
  config.reviewers = [];
  // The agents' tmux server, on the state folder's own socket: stopped with the rest.
  defer(() => {
    try {
      execFileSync('tmux', ['-S', agentPaths(config.stateDir).socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // no server left: its last session already ended
    }
  });
  const orchestration = await createOrchestrationWorker({ connection: env.nativeConnection, config, db: database.db, logger, notifier, workflowBundle: { code }, searchAttributes: true });
  const host = await createHostWorker({ connection: env.nativeConnection, config, db: database.db });
  return { env, database, config, orchestration, host, bundleMs };
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
