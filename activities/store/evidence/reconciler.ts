// Moves spooled records into Postgres once it is back: in spool order, each exactly once (a seq
// already stored is kept: ON CONFLICT DO NOTHING), then drops them from the spool. A crash between
// the inserts and the drop re-inserts nothing on the next pass. Runs in the orchestration worker,
// every few seconds; an empty spool costs one small read.
import type { Logger } from '@temporalio/common';
import { isStoreUnreachable } from '../../errors.ts';
import type { Db } from '../db.ts';
import type { Spool } from './spool.ts';
import { insertSigned, type SignedRecord } from './store.ts';

export const RECONCILE_INTERVAL_MS = 2_000;

/** One pass: how many records went to Postgres; stops at the first that cannot (order is kept). */
export async function drainSpool(db: Db, spool: Spool, logger?: Logger): Promise<number> {
  const waiting = spool.read();
  if (waiting.length === 0) return 0;
  const moved: SignedRecord[] = [];
  try {
    for (const r of waiting) {
      await insertSigned(db, r, { spooled: true });
      moved.push(r);
    }
  } catch (err) {
    if (!isStoreUnreachable(err)) logger?.error('a spooled record could not be stored; it stays in the spool', { taskId: waiting[moved.length]?.taskId, seq: waiting[moved.length]?.seq, error: (err as Error).message });
  } finally {
    if (moved.length) spool.remove(moved);
  }
  if (moved.length) logger?.info('spooled records moved into Postgres', { moved: moved.length, left: waiting.length - moved.length });
  return moved.length;
}

export interface Reconciler {
  stop(): void;
}

/** Drains the spool every `intervalMs` while `running()` holds; stops itself once it no longer does. */
export function startReconciler({ db, spool, logger, running, intervalMs = RECONCILE_INTERVAL_MS }: { db: Db; spool: Spool; logger?: Logger; running: () => 'yes' | 'not yet' | 'no'; intervalMs?: number }): Reconciler {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    const state = running();
    if (state === 'no' || stopped) return;
    if (state === 'yes') {
      try {
        await drainSpool(db, spool, logger);
      } catch (err) {
        logger?.error('spool reconciliation failed', { error: (err as Error).message });
      }
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs).unref();
  };
  timer = setTimeout(() => void tick(), intervalMs).unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
