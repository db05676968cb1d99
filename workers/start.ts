// `npm start`: the whole swarmflow stack on embedded defaults, in the foreground.
// Ctrl-C (SIGINT) or SIGTERM drains the workers and stops every child; a second signal forces.
import { performance } from 'node:perf_hooks';
import { relative } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../lib/config.ts';
import { SwarmLogger } from '../lib/logger.ts';
import { startStack, type Stack } from './stack.ts';

const started = performance.now();

function banner(stack: Stack): string {
  const { temporal, database, workers } = stack.info;
  const rel = (p?: string) => (p ? relative(process.cwd(), p) || '.' : '');
  const lines = [
    `swarmflow is ready (${Math.round(performance.now() - started)} ms, pid ${process.pid})`,
    `  Temporal   ${temporal.address}${temporal.embedded ? `  (embedded dev server, state in ${rel(temporal.dbFilename)})` : ''}`,
    temporal.uiUrl ? `  Web UI     ${temporal.uiUrl}` : `  Web UI     (your cluster's UI)`,
    `  Postgres   ${database.embedded ? `${database.url}  (embedded, data in ${rel(database.dataDir)})` : 'DATABASE_URL'}`,
    ...(stack.info.webhookUrl ? [`  Webhooks   ${stack.info.webhookUrl}  (GitHub: pull_request, check_run, check_suite, status, pull_request_review)`] : []),
    ...workers.map((w) => `  Worker     ${w.taskQueue}  (${w.kind === 'host' ? 'this host: worktrees, tmux, gates' : 'workflows and API activities'})`),
    '',
    'Next:',
    '  ./swarm doctor            check every part end to end',
    '  ./swarm status            what is running',
    '  ./swarm --help            every command',
    '',
    'Stop with Ctrl-C.',
  ];
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = new SwarmLogger({ level: config.log.level, format: config.log.format }).child({ component: 'stack' });
  // We handle signals ourselves: drain workers first, then stop the servers.
  Runtime.install({ logger, shutdownSignals: [] });

  let stack: Stack;
  try {
    stack = await startStack(config, logger);
  } catch (err) {
    logger.error((err as Error).message);
    return 1;
  }
  process.stdout.write(banner(stack));

  let firstSignalAt: number | undefined;
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      // A terminal's Ctrl-C reaches both npm and us, and npm forwards it: the same press can
      // arrive twice. Only a signal well after the first one means "force".
      if (firstSignalAt !== undefined) {
        if (Date.now() - firstSignalAt < 2_000) return;
        logger.warn('second signal: exiting without waiting');
        process.exit(130);
      }
      firstSignalAt = Date.now();
      logger.info(`${signal}: draining workers (up to ${config.workers.shutdownGraceTime}), then stopping servers`);
      stack.stop().then(() => resolve(0), (err: unknown) => {
        logger.error('shutdown failed', { err });
        resolve(1);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    stack.running.catch(async (err: unknown) => {
      logger.error('a worker stopped with an error; shutting down', { err });
      await stack.stop();
      resolve(1);
    });
  });
  const code = await done;
  logger.info('stopped');
  return code;
}

process.exitCode = await main();
