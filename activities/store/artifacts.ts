// Intent -> receipt -> verification: every step's artifact, written once per key.
import type { ArtifactInput } from '../../workflows/task/types.ts';
import type { Db } from './db.ts';
import { jsonb } from './jsonb.ts';

/** Keyed insert: a retried activity writes the same key and changes nothing. */
export async function recordArtifact(db: Db, a: ArtifactInput): Promise<{ recorded: boolean }> {
  const res = await db.query(
    `INSERT INTO artifacts (task_id, run_key, key, kind, step, payload) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (task_id, run_key, key) DO NOTHING`,
    [a.taskId, a.runKey ?? '', a.key, a.kind, a.step, jsonb(a.payload)],
  );
  return { recorded: res.rowCount === 1 };
}

export interface StoredArtifact extends ArtifactInput {
  createdAt: string;
}

/** The task's artifacts, oldest first: of every start of its id, or of the one whose runKey is given. */
export async function listArtifacts(db: Db, taskId: string, runKey?: string): Promise<StoredArtifact[]> {
  const { rows } = await db.query<{ task_id: string; run_key: string; key: string; kind: ArtifactInput['kind']; step: ArtifactInput['step']; payload: Record<string, unknown>; created_at: Date }>(
    'SELECT task_id, run_key, key, kind, step, payload, created_at FROM artifacts WHERE task_id = $1 AND ($2::text IS NULL OR run_key = $2) ORDER BY created_at, key',
    [taskId, runKey ?? null],
  );
  return rows.map((r) => ({ taskId: r.task_id, runKey: r.run_key, key: r.key, kind: r.kind, step: r.step, payload: r.payload, createdAt: r.created_at.toISOString() }));
}
