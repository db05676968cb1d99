// Once per `npm test`: a scratch folder for the run, the compiled CLI and workers, the workflow
// bundle, and one embedded Postgres in which every suite gets a fresh database (or the server in
// SWARM_TEST_DATABASE_URL).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../../scripts/build.mjs';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { bundleWorkflows } from '../../workers/workers.ts';
import { startEmbeddedPostgres } from '../../workers/embedded-postgres.ts';
import { bundlePath, createRunDir, tempDir } from './paths.ts';

export default async function globalSetup(): Promise<void> {
  const logger = new SwarmLogger({ level: 'WARN' });
  // Test workers inherit this process's env.
  process.env.SWARM_TEST_RUN_DIR = createRunDir();
  // Suites run the CLI and the stack as a user does: from dist/, built here once rather than by each.
  ensureBuilt();
  // Cached in the checkout's own folder: a rerun of the tests on the same sources builds nothing.
  const { code } = await bundleWorkflows(logger, { cacheDir: join(PROJECT_ROOT, '.swarmflow', 'cache') });
  writeFileSync(bundlePath(), code);

  if (!process.env.SWARM_TEST_DATABASE_URL) {
    const pg = await startEmbeddedPostgres({ dataDir: `${tempDir('pg')}/data`, port: await freePort(), logger });
    // Suites connect to the admin database and create their own.
    process.env.SWARM_TEST_DATABASE_URL = pg.url.replace(/\/[^/]+$/, '/postgres');
    (globalThis as { __swarmPostgres?: { stop(): Promise<void> } }).__swarmPostgres = pg;
  }
}
