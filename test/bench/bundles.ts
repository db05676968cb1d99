// The workflow bundles the measuring process runs, built by the reporting process before it starts
// it: webpack's few hundred MB then never count in the measured process's memory (a stack started
// again runs from its cached bundle, as the measured workers now do). Run alone (no parent), the
// measuring process builds them itself.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@temporalio/common';
import { bundleWorkflows } from '../../workers/workers.ts';

const BUNDLES_ENV = 'SWARM_BENCH_BUNDLES';
const EMPTY_WORKFLOW_PATH = fileURLToPath(new URL('./empty-workflow.ts', import.meta.url));

interface Manifest {
  task: string;
  taskMs: number;
  empty: string;
}

/** In the reporting process: both bundles, built into `dir`; returns the env that names them to the measuring process. */
export async function buildBundles(dir: string, logger: Logger): Promise<Record<string, string>> {
  const started = performance.now();
  const task = await bundleWorkflows(logger);
  const manifest: Manifest = { task: join(dir, 'task-bundle.js'), taskMs: performance.now() - started, empty: join(dir, 'empty-bundle.js') };
  writeFileSync(manifest.task, task.code);
  writeFileSync(manifest.empty, (await bundleWorkflows(logger, { workflowsPath: EMPTY_WORKFLOW_PATH })).code);
  const file = join(dir, 'bundles.json');
  writeFileSync(file, JSON.stringify(manifest));
  return { [BUNDLES_ENV]: file };
}

const manifest = (): Manifest | undefined => (process.env[BUNDLES_ENV] ? (JSON.parse(readFileSync(process.env[BUNDLES_ENV], 'utf8')) as Manifest) : undefined);

/** The task workflows' bundle and how long it took to build. */
export async function taskBundle(logger: Logger): Promise<{ code: string; bundleMs: number }> {
  const built = manifest();
  if (built) return { code: readFileSync(built.task, 'utf8'), bundleMs: built.taskMs };
  const started = performance.now();
  const { code } = await bundleWorkflows(logger);
  return { code, bundleMs: performance.now() - started };
}

/** The empty workflow's bundle, for the yardstick worker. */
export async function emptyBundle(logger: Logger): Promise<{ code: string }> {
  const built = manifest();
  if (built) return { code: readFileSync(built.empty, 'utf8') };
  return bundleWorkflows(logger, { workflowsPath: EMPTY_WORKFLOW_PATH });
}
