// The embedded stack behind `npm start`: Temporal (dev server, or TEMPORAL_ADDRESS), Postgres
// (embedded, or DATABASE_URL), migrations, both workers, this host's heartbeat and its reaper
// schedule; with SWARM_WORKER_ROLE=host, only this host's worker, heartbeat and reaper schedule,
// joining a stack that runs elsewhere. `stop()` drains the workers within the grace period, then
// stops the servers; nothing is left running.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import { createPool, type Db } from '../activities/store/db.ts';
import { migrate } from '../activities/store/migrate.ts';
import { hostQueue, telegramSettings, type Config } from '../lib/config.ts';
import type { SwarmLogger } from '../lib/logger.ts';
import { connectionOptions, searchAttributesUsable } from '../lib/temporal.ts';
import { reaperScheduleId } from '../lib/reaper.ts';
import { readStackInfo, removeStackInfo, writeStackInfo, type StackInfo } from '../lib/stack-file.ts';
import { startDevServer, type DevServer } from './temporal-dev-server.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { bundleWorkflows, createHostWorker, createOrchestrationWorker } from './workers.ts';
import { ensureReaperSchedule } from './reaper-schedule.ts';
import { startHostHeartbeat } from './host-heartbeat.ts';
import { createWebhookServer, temporalIntake, temporalSignal, temporalTasksOf } from './webhooks/index.ts';
import { assertPortFree } from '../lib/ports.ts';
import { cliTypeOf, SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { CompositeNotifier, ConsoleNotifier, type Notifier } from '../activities/notify/notifier.ts';
import { createTelegram } from '../activities/notify/telegram/index.ts';
import { SwarmClient } from '../client/swarm-client.ts';

export interface Stack {
  info: StackInfo;
  /** Resolves when a worker stops on its own (a fatal error); rejects with that error. */
  running: Promise<void>;
  stop(): Promise<void>;
}

export class AlreadyRunningError extends Error {
  constructor(pid: number, stateDir: string) {
    super(`swarmflow is already running (pid ${pid}) on state folder ${stateDir}. Use \`./swarm status\`, or stop it first (Ctrl-C in its terminal, or \`kill ${pid}\`).`);
    this.name = 'AlreadyRunningError';
  }
}

export async function startStack(config: Config, logger: SwarmLogger, options: { workflowBundle?: WorkerOptions['workflowBundle'] } = {}): Promise<Stack> {
  const running = readStackInfo(config.stateDir);
  if (running) throw new AlreadyRunningError(running.pid, config.stateDir);

  // Everything started so far, stopped in reverse order if a later step fails.
  const undo: Array<() => Promise<void>> = [];
  const unwind = async () => {
    for (const step of undo.reverse()) await step().catch((err: unknown) => logger.error('shutdown step failed', { err }));
  };

  const hostOnly = config.workers.role === 'host';
  if (hostOnly && (!config.temporal.address || !config.database.url)) {
    // An embedded server or database would be this host's alone: no task would ever reach it.
    throw new Error('SWARM_WORKER_ROLE=host joins a stack that runs elsewhere: set TEMPORAL_ADDRESS and DATABASE_URL to that stack\'s Temporal server and Postgres');
  }
  try {
    let devServer: DevServer | undefined;
    let address = config.temporal.address;
    if (!address) {
      const { ip, port, uiPort } = config.temporal.devServer;
      devServer = await startDevServer({ dbFilename: join(config.stateDir, 'temporal.db'), ip, port, uiPort, logger });
      undo.push(() => devServer!.stop());
      address = devServer.address;
    }
    const admin = await Connection.connect(connectionOptions(config, address));
    const searchAttributes = await searchAttributesUsable(admin, config.temporal.namespace).finally(() => admin.close());
    if (!searchAttributes) logger.warn(`the server does not have the swarm search attributes and they cannot be registered here: tasks run without them (register ${SEARCH_ATTRIBUTES.map((k) => `${k.name} as ${cliTypeOf(k)}`).join(', ')}: temporal operator search-attribute create --name <name> --type <type>)`);

    let postgres: EmbeddedPostgres | undefined;
    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      postgres = await startEmbeddedPostgres({ dataDir: join(config.stateDir, 'postgres'), port: config.database.embeddedPort, logger });
      undo.push(() => postgres!.stop());
      databaseUrl = postgres.url;
    }
    const db: Db = createPool(databaseUrl);
    undo.push(() => db.end());
    const migrations = await migrate(db);
    logger.info('database migrated', { applied: migrations.applied, alreadyApplied: migrations.alreadyApplied.length });

    let workflowBundle = options.workflowBundle;
    if (!workflowBundle && !hostOnly) {
      const startedAt = performance.now();
      const { code, source } = await bundleWorkflows(logger, { cacheDir: join(config.stateDir, 'cache') });
      logger.info(source === 'cache' ? 'workflow bundle reused' : 'workflow bundle built', { ms: Math.round(performance.now() - startedAt) });
      workflowBundle = { code };
    }
    const connection = await NativeConnection.connect(connectionOptions(config, address));
    undo.push(() => connection.close());

    // Telegram (when configured) beside the console; it stops after the workers have drained, so
    // their last notifications are queued, and what it has not sent waits in the outbox for the next start.
    let notifier: Notifier = new ConsoleNotifier(logger);
    const telegramClient = telegramSettings(config) && !hostOnly ? new Client({ connection: await Connection.connect(connectionOptions(config, address)), namespace: config.temporal.namespace }) : undefined;
    const telegram = telegramClient && createTelegram({ config, db, client: SwarmClient.fromClient(telegramClient, config), logger: logger.child({ component: 'telegram' }) });
    if (telegram) {
      notifier = new CompositeNotifier([notifier, telegram.notifier]);
      undo.push(async () => {
        await telegram.stop();
        await telegramClient.connection.close();
      });
    }
    const workers: Worker[] = [
      ...(hostOnly ? [] : [await createOrchestrationWorker({ connection, config, db, logger, workflowBundle: workflowBundle!, searchAttributes, notifier })]),
      await createHostWorker({ connection, config, db }),
    ];
    const runs = workers.map((w) => w.run());
    undo.push(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      // Workers finish in-flight activities within shutdownGraceTime, then cancel them.
      await Promise.allSettled(runs);
    });
    // Marked stopped first: a host that is draining takes no new work.
    const heartbeat = await startHostHeartbeat({ db, config, logger });
    undo.push(() => heartbeat.stop());

    if (telegram) {
      // A taken webhook port is the operator's to fix, like the GitHub webhook's; Telegram being down is not.
      if (config.telegram.mode === 'webhook') await assertPortFree(config.telegram.webhook.port, 'Telegram webhooks', 'SWARM_TELEGRAM_WEBHOOK_PORT', config.telegram.webhook.host);
      await telegram.start().then(
        () => logger.info(`telegram notifications on (${config.telegram.mode})`, telegram.webhookAddress ? { webhook: telegram.webhookAddress } : {}),
        (err: unknown) => logger.warn('telegram could not start: tasks run on, notified on the console only', { error: (err as Error).message }),
      );
    }

    const scheduler = new Client({ connection: await Connection.connect(connectionOptions(config, address)), namespace: config.temporal.namespace });
    try {
      const schedule = await ensureReaperSchedule(scheduler, config);
      logger.info(`reaper schedule ${schedule}`, { scheduleId: reaperScheduleId(config), every: config.reaper.interval });
    } catch (err) {
      // The stack works without it; what terminated tasks leave stays until `swarm reap`.
      logger.warn('the reaper schedule could not be created or updated: run `swarm reap` to clean up after terminated tasks', { err });
    } finally {
      await scheduler.connection.close();
    }

    let webhookUrl: string | undefined;
    if (config.webhooks.secret && !hostOnly) {
      await assertPortFree(config.webhooks.port, 'GitHub webhooks', 'SWARM_WEBHOOK_PORT', config.webhooks.host);
      const client = new Client({ connection: await Connection.connect(connectionOptions(config, address)), namespace: config.temporal.namespace });
      const webhooks = await createWebhookServer({
        ...config.webhooks,
        secret: config.webhooks.secret,
        signal: temporalSignal(client),
        tasksOf: temporalTasksOf(client, searchAttributes),
        intake: temporalIntake(client, config.workers.orchestrationQueue),
        logger: logger.child({ component: 'webhooks' }),
      });
      undo.push(async () => {
        await webhooks.close();
        await client.connection.close();
      });
      webhookUrl = webhooks.url;
    }

    const info: StackInfo = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      namespace: config.temporal.namespace,
      temporal: { address, uiUrl: devServer?.uiUrl, embedded: !!devServer, dbFilename: devServer ? join(config.stateDir, 'temporal.db') : undefined },
      database: postgres ? { embedded: true, url: postgres.url, dataDir: postgres.dataDir } : { embedded: false },
      webhookUrl,
      workers: [...(hostOnly ? [] : [{ kind: 'orchestration' as const, taskQueue: config.workers.orchestrationQueue }]), { kind: 'host', taskQueue: hostQueue(config) }],
    };
    writeStackInfo(config.stateDir, info);
    undo.push(() => Promise.resolve(removeStackInfo(config.stateDir)));

    let stopping: Promise<void> | undefined;
    return {
      info,
      running: Promise.all(runs).then(() => undefined),
      stop: () => (stopping ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
