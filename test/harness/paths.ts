import { mkdirSync, mkdtempSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

/** Scratch space for a test run, inside the project (gitignored), readable by the postgres user. */
export const TEST_ROOT = join(PROJECT_ROOT, '.swarmflow', 'test');
export const BUNDLE_PATH = join(TEST_ROOT, 'workflow-bundle.js');

export function tempDir(prefix: string): string {
  mkdirSync(TEST_ROOT, { recursive: true });
  const dir = mkdtempSync(join(TEST_ROOT, `${prefix}-`));
  // mkdtemp makes 0700; embedded Postgres runs as another user and must reach its data dir.
  chmodSync(dir, 0o755);
  return dir;
}
