// Recorded workflow histories for the replay test. `SWARM_RECORD_HISTORIES=1 npm run jest` writes
// a file for each recording point whose run took a path no stored file of that point took: the
// path is told by the patches the run went through (its `core_patch` markers), so a release that
// adds a patch adds a history and keeps the older ones, which the current code must still replay
// (changes go behind patched()). `SWARM_RECORD_HISTORIES=overwrite` replaces the point's first
// file, for a history that never shipped.
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

export const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'replay', 'histories');

interface HistoryJson {
  events: { markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> } }[];
}

/** The ids of the patches a history went through, sorted and joined: the path its code took. */
export function patchesOf(history: HistoryJson): string {
  const ids = history.events.flatMap(({ markerRecordedEventAttributes: m }) => {
    const data = m?.markerName === 'core_patch' ? m.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id] : [];
  });
  return [...new Set(ids)].sort().join(',');
}

/** The point's stored files: `<name>.json`, then `<name>.2.json`, `<name>.3.json`, … */
const storedFiles = (name: string) =>
  existsSync(HISTORIES_DIR) ? readdirSync(HISTORIES_DIR).filter((f) => f === `${name}.json` || new RegExp(`^${name}\\.\\d+\\.json$`).test(f)) : [];

export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  const mode = process.env.SWARM_RECORD_HISTORIES;
  if (mode !== '1' && mode !== 'overwrite') return;
  const json = historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory());
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const stored = storedFiles(name);
  if (mode === 'overwrite' || stored.length === 0) return writeFileSync(join(HISTORIES_DIR, `${name}.json`), json);
  const path = patchesOf(JSON.parse(json) as HistoryJson);
  const known = stored.some((f) => patchesOf(JSON.parse(readFileSync(join(HISTORIES_DIR, f), 'utf8')) as HistoryJson) === path);
  if (!known) writeFileSync(join(HISTORIES_DIR, `${name}.${stored.length + 1}.json`), json);
}
