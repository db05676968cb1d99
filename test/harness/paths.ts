import { mkdirSync, mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Scratch space for one test run, set up by the global setup and removed by its teardown. Under
 * the system temp folder, not the checkout: embedded Postgres runs as the `postgres` user when
 * tests run as root and must reach its data dir, which a checkout in a private folder (a 0700
 * home) would forbid; and no test repository may nest inside ours.
 */
export function runDir(): string {
  const dir = process.env.SWARM_TEST_RUN_DIR;
  if (!dir) throw new Error('SWARM_TEST_RUN_DIR is unset: run the tests through `npm test` (its global setup creates it)');
  return dir;
}

/** A fresh scratch folder under the system temp folder's `<area>/`, reachable by the postgres user. */
export function createRunDir(area = 'swarmflow-test'): string {
  const root = join(tmpdir(), area);
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  const dir = mkdtempSync(join(root, 'run-'));
  chmodSync(dir, 0o755);
  return dir;
}

export const bundlePath = () => join(runDir(), 'workflow-bundle.js');

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(runDir(), `${prefix}-`));
  // mkdtemp makes 0700; embedded Postgres runs as another user and must reach its data dir.
  chmodSync(dir, 0o755);
  return dir;
}
