// The recordArtifact activity: a plain keyed row for a task started before the signed chain, else
// the artifact as a signed statement at the seq the workflow gave, stored in Postgres or, when
// Postgres cannot be reached (or the spool still holds records, so that order is kept), appended
// to the host's spool. Its answer is the link's digest, which the workflow keeps as the chain's head.
import type { Logger } from '@temporalio/common';
import type { Config } from '../../../lib/config.ts';
import { orchestratorKey, type SigningKey } from '../../../lib/keys.ts';
import type { ArtifactInput } from '../../../workflows/task/types.ts';
import { isStoreUnreachable } from '../../errors.ts';
import { recordArtifact } from '../artifacts.ts';
import type { Db } from '../db.ts';
import { envelopeDigest, signEnvelope } from './dsse.ts';
import type { Spool } from './spool.ts';
import { buildStatement, type ChainedArtifact } from './statement.ts';
import { insertSigned, type SignedRecord } from './store.ts';

export interface RecordedArtifact {
  recorded: boolean;
  /** Signed artifacts: the link's digest and seq. */
  digest?: string;
  seq?: number;
  /** Signed artifacts: how many of this task start's records wait in the host's spool now. */
  spooled?: number;
}

export function signRecord(a: ChainedArtifact, key: SigningKey): SignedRecord {
  const envelope = signEnvelope(buildStatement(a), key);
  return { taskId: a.taskId, runKey: a.runKey ?? '', seq: a.chain.seq, key: a.key, kind: a.kind, step: a.step, digest: envelopeDigest(envelope), previous: a.chain.previous ?? null, envelope };
}

export function createArtifactRecorder({ db, config, spool, logger }: { db: Db; config: Pick<Config, 'stateDir' | 'keys'>; spool: Spool; logger: Logger }) {
  // Loaded at the first signed artifact, kept in this closure only: never logged, never returned.
  let key: SigningKey | undefined;
  return async (a: ArtifactInput): Promise<RecordedArtifact> => {
    if (!a.chain) return recordArtifact(db, a);
    key ??= orchestratorKey(config);
    const record = signRecord(a as ChainedArtifact, key);
    const mine = { taskId: record.taskId, runKey: record.runKey };
    // A retry of an activity whose append landed but whose answer was lost: the same link.
    const spooled = spool.find(record);
    if (spooled) return { recorded: true, digest: spooled.digest, seq: record.seq, spooled: spool.count(mine) };
    if (spool.count() === 0) {
      try {
        const { digest } = await insertSigned(db, record);
        return { recorded: true, digest, seq: record.seq, spooled: 0 };
      } catch (err) {
        if (!isStoreUnreachable(err)) throw err;
        logger.warn('Postgres is unreachable: the artifact goes to the spool', { taskId: record.taskId, seq: record.seq, key: record.key, spool: spool.file, error: (err as Error).message });
      }
    }
    spool.append(record);
    return { recorded: true, digest: record.digest, seq: record.seq, spooled: spool.count(mine) };
  };
}
