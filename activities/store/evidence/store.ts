// The chain in Postgres: one row per link in `evidence`, and the artifact's payload in `artifacts`
// as before (keyed, first write wins), both in one transaction so a link and its artifact arrive
// together. The payload is taken from the signed statement, so a spooled record carries nothing
// unsigned.
import type { Db } from '../db.ts';
import { jsonb } from '../jsonb.ts';
import { Envelope } from './dsse.ts';
import type { StoredLink } from './chain.ts';
import { partsOf } from './statement.ts';

/** A signed link as it travels: to Postgres, or as one line of the spool. */
export interface SignedRecord {
  taskId: string;
  runKey: string;
  seq: number;
  key: string;
  kind: 'intent' | 'receipt' | 'verification';
  step: string;
  digest: string;
  previous: string | null;
  envelope: Envelope;
}

function payloadOf(r: SignedRecord): Record<string, unknown> {
  const parts = partsOf(JSON.parse(Buffer.from(r.envelope.payload, 'base64').toString('utf8')));
  if (!parts) throw new Error(`the envelope of ${r.taskId} seq ${r.seq} is not a swarmflow statement`);
  return parts.record;
}

/** Inserts the link (and its artifact); an existing seq is kept. Returns the digest stored at that seq. */
export async function insertSigned(db: Db, r: SignedRecord, { spooled = false } = {}): Promise<{ digest: string; inserted: boolean }> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const res = await client.query(
      `INSERT INTO evidence (task_id, run_key, seq, key, kind, step, digest, previous, envelope, spooled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (task_id, run_key, seq) DO NOTHING`,
      [r.taskId, r.runKey, r.seq, r.key, r.kind, r.step, r.digest, r.previous, JSON.stringify(r.envelope), spooled],
    );
    await client.query(
      `INSERT INTO artifacts (task_id, run_key, key, kind, step, payload) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (task_id, run_key, key) DO NOTHING`,
      [r.taskId, r.runKey, r.key, r.kind, r.step, jsonb(payloadOf(r))],
    );
    const { rows } = await client.query<{ digest: string }>('SELECT digest FROM evidence WHERE task_id = $1 AND run_key = $2 AND seq = $3', [r.taskId, r.runKey, r.seq]);
    await client.query('COMMIT');
    return { digest: rows[0]!.digest, inserted: res.rowCount === 1 };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

// An edited row that is no longer an envelope still shows, as a link that does not verify.
const NOT_AN_ENVELOPE: Envelope = { payloadType: 'not a DSSE envelope', payload: '', signatures: [{ keyid: '', sig: '' }] };

/** A task start's links in seq order, with the columns a tamperer could edit (verify compares them with what is signed). */
export async function listLinks(db: Db, taskId: string, runKey: string): Promise<StoredLink[]> {
  const { rows } = await db.query<{ seq: number; key: string; kind: string; step: string; digest: string; envelope: unknown }>(
    'SELECT seq, key, kind, step, digest, envelope FROM evidence WHERE task_id = $1 AND run_key = $2 ORDER BY seq',
    [taskId, runKey],
  );
  return rows.map((r) => ({ seq: r.seq, key: r.key, kind: r.kind, step: r.step, digest: r.digest, envelope: Envelope.safeParse(r.envelope).data ?? NOT_AN_ENVELOPE }));
}

/** The run key of the task id's latest start that has evidence. */
export async function latestRunKey(db: Db, taskId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ run_key: string }>('SELECT run_key FROM evidence WHERE task_id = $1 ORDER BY created_at DESC LIMIT 1', [taskId]);
  return rows[0]?.run_key;
}
