// Recorded workflow histories for the replay test. `SWARM_RECORD_HISTORIES=1 npm run jest` writes
// one file per recording point that has none yet; the files under test/replay/histories are
// committed. An existing file is kept: it is what an earlier release wrote, and the current code
// must still replay it (changes go behind patched()). `SWARM_RECORD_HISTORIES=overwrite` replaces
// them, for a history that never shipped.
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

export const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'replay', 'histories');

export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  const mode = process.env.SWARM_RECORD_HISTORIES;
  const file = join(HISTORIES_DIR, `${name}.json`);
  if (mode !== '1' && mode !== 'overwrite') return;
  if (mode === '1' && existsSync(file)) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(file, historyToJSON(history));
}
