// Determinism: every recorded history replays against the current workflow code. A change to
// workflow logic that breaks one needs `patched()` (see docs/ARCHITECTURE.md).
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '../harness/histories.ts';
import { workflowBundle } from '../harness/temporal.ts';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

describe('recorded histories', () => {
  it('exist for the task workflow', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s replays against the current workflow code', async (file) => {
    const history: unknown = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowBundle }, history, file.replace(/\.json$/, ''))).resolves.toBeUndefined();
  });
});
