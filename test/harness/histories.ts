// Recorded workflow histories for the replay test. `SWARM_RECORD_HISTORIES=1 npm run jest` writes
// one file per recording point; the files under test/replay/histories are committed.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

export const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'replay', 'histories');

export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (process.env.SWARM_RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
}
