import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __swarmPostgres?: { stop(): Promise<void> } }).__swarmPostgres?.stop();
  if (process.env.SWARM_TEST_RUN_DIR) rmSync(process.env.SWARM_TEST_RUN_DIR, { recursive: true, force: true });
}
