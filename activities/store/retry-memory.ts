// The orchestrator's memory of its retries (migration 008): what each retry was told, and whether
// it worked. A retry's outcome is settled when the next attempt ends; a hint that fixed the same
// class on overlapping paths in another task is offered to the next prompt, marked as learned.
import type { LearnedHint } from '../../workflows/task/types.ts';
import type { Db } from './db.ts';

export const RETRY_OUTCOMES = ['fixed', 'failed_again', 'escalated'] as const;
export type RetryOutcome = (typeof RETRY_OUTCOMES)[number];

export interface RetryRecord {
  taskId: string;
  runKey?: string;
  repository: string;
  attempt: number;
  kind: string;
  digest: string;
  paths: string[];
  title: string;
  injection: string;
}

/** Hints offered to one prompt: the newest that fixed. */
const MAX_LEARNED = 2;

/** Records a retry; recording it again (a retried activity) changes nothing. */
export async function rememberRetry(db: Db, r: RetryRecord): Promise<void> {
  await db.query(
    `INSERT INTO retry_memory (task_id, run_key, repository, attempt, kind, digest, paths, title, injection)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (task_id, run_key, attempt) DO NOTHING`,
    [r.taskId, r.runKey ?? '', r.repository, r.attempt, r.kind, r.digest, r.paths, r.title, r.injection],
  );
}

/** The outcome of the retry that attempt `attempt` failed into, once the next attempt ended; a settled row keeps its first outcome. */
export async function settleRetry(db: Db, { taskId, runKey, attempt, outcome }: { taskId: string; runKey?: string; attempt: number; outcome: RetryOutcome }): Promise<void> {
  if (!RETRY_OUTCOMES.includes(outcome)) throw new Error(`unknown retry outcome "${String(outcome)}": one of ${RETRY_OUTCOMES.join(', ')}`);
  await db.query(`UPDATE retry_memory SET outcome = $4, settled_at = now() WHERE task_id = $1 AND run_key = $2 AND attempt = $3 AND outcome IS NULL`, [taskId, runKey ?? '', attempt, outcome]);
}

/** Hints that fixed the same class on overlapping paths in other tasks of the repository, newest first. */
export async function learnedHints(db: Db, { taskId, repository, kind, paths }: { taskId: string; repository: string; kind: string; paths: string[] }): Promise<LearnedHint[]> {
  if (paths.length === 0) return [];
  const { rows } = await db.query<{ task_id: string; attempt: number; kind: string; title: string; injection: string; shared: string[] }>(
    `SELECT task_id, attempt, kind, title, injection, ARRAY(SELECT unnest(paths) INTERSECT SELECT unnest($4::text[]) ORDER BY 1) AS shared
       FROM retry_memory
      WHERE repository = $1 AND kind = $2 AND outcome = 'fixed' AND task_id <> $3 AND paths && $4::text[]
      ORDER BY settled_at DESC, task_id, attempt LIMIT ${MAX_LEARNED}`,
    [repository, kind, taskId, paths],
  );
  return rows.map((r) => ({ taskId: r.task_id, attempt: r.attempt, kind: r.kind, title: r.title, injection: r.injection, paths: r.shared }));
}
