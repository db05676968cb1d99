// Once per `npm test`: build the workflow bundle, and start one embedded Postgres in which every
// suite gets a fresh database (or use the machine's server when SWARM_TEST_DATABASE_URL is set).
import { writeFileSync, mkdirSync } from 'node:fs';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { bundleWorkflows } from '../../workers/workers.ts';
import { startEmbeddedPostgres } from '../../workers/embedded-postgres.ts';
import { BUNDLE_PATH, TEST_ROOT, tempDir } from './paths.ts';

export default async function globalSetup(): Promise<void> {
  const logger = new SwarmLogger({ level: 'WARN' });
  mkdirSync(TEST_ROOT, { recursive: true });
  const { code } = await bundleWorkflows(logger);
  writeFileSync(BUNDLE_PATH, code);

  if (!process.env.SWARM_TEST_DATABASE_URL) {
    const pg = await startEmbeddedPostgres({ dataDir: `${tempDir('pg')}/data`, port: await freePort(), logger });
    // Suites connect to the admin database and create their own.
    process.env.SWARM_TEST_DATABASE_URL = pg.url.replace(/\/[^/]+$/, '/postgres');
    (globalThis as { __swarmPostgres?: { stop(): Promise<void> } }).__swarmPostgres = pg;
  }
}
