// The embedded Temporal: the CLI's dev server as a child process, its state in a SQLite file so
// that tasks survive a restart, the project's search attributes registered at start.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { TOOLS, resolveTool } from '../scripts/tools.mjs';
import type { SwarmLogger } from '../lib/logger.ts';
import { assertPortFree } from '../lib/ports.ts';
import { spawnTied, stopChild, tail } from '../lib/process.ts';
import { cliTypeOf, SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';

export class MissingBinaryError extends Error {
  constructor(
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`${reason}\n  fix: ${fix}`);
    this.name = 'MissingBinaryError';
  }
}

/** The path of a project tool (env var, tools folder, PATH), or a MissingBinaryError with the fix. */
export function requireTool(tool: keyof typeof TOOLS): string {
  const found = resolveTool(TOOLS[tool]);
  if (!found.ok) throw new MissingBinaryError(found.reason, found.fix);
  return found.path;
}

/**
 * The dev server's dynamic config for task-queue priority and fairness (Temporal server 1.32,
 * CLI 1.9.1). Priority keys work on the server's default matcher (`matching.useNewMatcher` is on
 * by default); fairness keys are ignored unless `matching.enableFairness` is on. Fairness is
 * worked out inside each partition of a task queue, and the dev server gives a queue 4: tasks
 * written across 4 partitions come out in no useful order, so new tasks are written to one
 * partition only. The read partitions stay at 4, so tasks a state file queued before this
 * setting (in any partition) are still read, and the backlog of a state file from before fairness
 * was on is still handed out (tried: 8 queued activities and 8 workflow tasks, all dispatched after
 * the restart). The order it buys is measured in test/integration/fairness.test.ts.
 */
export const FAIRNESS_DYNAMIC_CONFIG: readonly string[] = ['matching.enableFairness=true', 'matching.numTaskqueueWritePartitions=1'];
/** FAIRNESS_DYNAMIC_CONFIG as `temporal server start-dev` arguments. */
export const fairnessArgs = (): string[] => FAIRNESS_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]);

export interface DevServerOptions {
  dbFilename: string;
  ip?: string;
  port: number;
  uiPort?: number;
  headless?: boolean;
  logger: SwarmLogger;
  /** Env vars that move each port, named in the "port taken" error. */
  portEnvVars?: { port: string; uiPort: string };
  extraArgs?: string[];
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const { dbFilename, ip = '127.0.0.1', port, uiPort, headless = false, logger } = options;
  const envVars = options.portEnvVars ?? { port: 'SWARM_TEMPORAL_PORT', uiPort: 'SWARM_TEMPORAL_UI_PORT' };
  const binary = requireTool('temporal');
  await assertPortFree(port, 'Temporal gRPC', envVars.port, ip);
  if (!headless && uiPort) await assertPortFree(uiPort, 'Temporal Web UI', envVars.uiPort, ip);
  mkdirSync(dirname(dbFilename), { recursive: true });

  const args = ['server', 'start-dev', '--db-filename', dbFilename, '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  // WAL keeps the single SQLite connection from stalling readers behind writers.
  args.push('--sqlite-pragma', 'journal_mode=wal');
  if (headless) args.push('--headless');
  else if (uiPort) args.push('--ui-port', String(uiPort));
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${cliTypeOf(key)}`);
  args.push(...fairnessArgs(), ...(options.extraArgs ?? []));

  const output = tail();
  // Own process group: a terminal's Ctrl-C reaches us, and we stop the server after the workers drain.
  const child = spawnTied(binary, args, 'SIGTERM', { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.on('data', (d: Buffer) => output.push(d));
  child.stderr?.on('data', (d: Buffer) => output.push(d));
  const address = `${ip}:${port}`;

  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the Temporal dev server exited during start (code ${code}). Its last output:\n${output.text()}`))),
  );
  try {
    await Promise.race([waitForFrontend(address), died]);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  child.removeAllListeners('exit');
  logger.info('Temporal dev server ready', { address, dbFilename });
  return {
    address,
    uiUrl: headless || !uiPort ? undefined : `http://${ip}:${uiPort}`,
    pid: child.pid!,
    stop: () => stopChild(child, 'SIGTERM', 15_000),
  };
}

/** Polls until the frontend answers a real RPC on the default namespace. */
async function waitForFrontend(address: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`the Temporal dev server at ${address} did not become ready in ${timeoutMs / 1000}s: ${String(last)}`);
}
