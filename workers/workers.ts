// The two worker kinds (DESIGN.md): the orchestration queue runs workflows and light activities;
// this host's queue runs everything bound to a worktree on this disk.
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Duration, Logger } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { join } from 'node:path';
import { keepAliveHeartbeats } from '../activities/activity-context.ts';
import { createActivities } from '../activities/index.ts';
import { createHostActivities } from '../activities/host/index.ts';
import { pruneKeptLogs } from '../activities/agents/kept-logs.ts';
import { agentPaths } from '../activities/agents/paths.ts';
import type { Db } from '../activities/store/db.ts';
import { startReconciler } from '../activities/store/evidence/reconciler.ts';
import { Spool, spoolDir } from '../activities/store/evidence/spool.ts';
import { ConsoleNotifier, type Notifier } from '../activities/notify/notifier.ts';
import { hostQueue, secretFiles, type Config } from '../lib/config.ts';
import { PROJECT_ROOT } from '../scripts/tools.mjs';
import { bundleKey, readCachedBundle, writeCachedBundle } from './bundle-cache.ts';

// The TypeScript sources, also from the compiled worker in dist/: the bundler compiles them itself,
// so both run the same bundle (and share its cache).
export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');

export interface BundleOptions {
  /** Where a built bundle is kept and reused from (the state folder); none: always build. */
  cacheDir?: string;
  workflowsPath?: string;
}

/**
 * The workflow bundle: the cached one for these sources, or built (webpack, seconds to a minute)
 * and cached. Webpack's chatter is logged at DEBUG only.
 */
export async function bundleWorkflows(logger: Logger, { cacheDir, workflowsPath = WORKFLOWS_PATH }: BundleOptions = {}): Promise<{ code: string; source: 'cache' | 'built' }> {
  const key = cacheDir ? bundleKey(workflowsPath, { workflowsPath }) : undefined;
  const cached = cacheDir && key ? readCachedBundle(cacheDir, key) : undefined;
  if (cached) return { code: cached, source: 'cache' };
  const quiet: Logger = {
    log: (level, message, meta) => {
      if (level === 'WARN' || level === 'ERROR') logger.log(level, message, meta);
    },
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (message, meta) => void logger.log('WARN', message, meta),
    error: (message, meta) => void logger.log('ERROR', message, meta),
  };
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  if (cacheDir && key) writeCachedBundle(cacheDir, key, code);
  return { code, source: 'built' };
}

export interface WorkerDeps {
  connection: NativeConnection;
  config: Config;
  db: Db;
  logger: Logger;
  /** Whether the server has the project's search attributes (see lib/temporal.ts). */
  searchAttributes?: boolean;
  /** Where notifications go; the console/log notifier by default. */
  notifier?: Notifier;
  workflowBundle: NonNullable<WorkerOptions['workflowBundle']>;
}

export async function createOrchestrationWorker({ connection, config, db, logger, notifier = new ConsoleNotifier(logger), workflowBundle, searchAttributes = true }: WorkerDeps): Promise<Worker> {
  const spool = new Spool(spoolDir(config.stateDir));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.workers.orchestrationQueue,
    workflowBundle,
    activities: createActivities({ db, config, notifier, logger, searchAttributes, spool }),
    interceptors: { activity: [keepAliveHeartbeats] },
    shutdownGraceTime: config.workers.shutdownGraceTime,
  });
  // Spooled artifacts go into Postgres while this worker runs (its lifetime is the reconciler's).
  startReconciler({ db, spool, logger, running: () => (worker.getState() === 'RUNNING' ? 'yes' : worker.getState() === 'INITIALIZED' ? 'not yet' : 'no') });
  return worker;
}

export async function createHostWorker({ connection, config, db }: Pick<WorkerDeps, 'connection' | 'config' | 'db'>): Promise<Worker> {
  const logRetentionMs = msToNumber(config.tasks.logRetention as Duration);
  // Cleanup prunes too; a host that cleans nothing up for a while still drops old logs when it starts.
  await pruneKeptLogs(agentPaths(config.stateDir), logRetentionMs);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: hostQueue(config),
    activities: createHostActivities({ hostId: config.workers.hostId, stateDir: config.stateDir, db, limits: config.host, prices: config.prices, logRetentionMs, secretFiles: secretFiles(config), github: config.github }),
    interceptors: { activity: [keepAliveHeartbeats] },
    shutdownGraceTime: config.workers.shutdownGraceTime,
  });
}
