// A worker's recordArtifact activity, alone in a process, writing a task's chain while Postgres is
// unreachable (its pool points at a closed port): every record goes to the spool. It prints
// `ok <seq>` once an activity answered; the test SIGKILLs it mid-stream, then runs it again from
// the first seq that got no answer, as Temporal retries an activity that never completed.
// argv: <stateDir> <first seq> <last seq> <dead port>; env SPOOL_KEY: the signing key's PEM.
import { createActivities } from '../../activities/index.ts';
import { createPool } from '../../activities/store/db.ts';
import { Spool, spoolDir } from '../../activities/store/evidence/spool.ts';
import { ConsoleNotifier } from '../../activities/notify/notifier.ts';
import { loadConfig } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';

const [stateDir, first, last, port] = process.argv.slice(2);
const config = loadConfig({ env: { SWARM_STATE_DIR: stateDir!, SWARM_ORCHESTRATOR_KEY: process.env.SPOOL_KEY! } });
const logger = new SwarmLogger({ level: 'ERROR' });
const db = createPool(`postgres://nobody@127.0.0.1:${port}/none`, 1);
const { recordArtifact } = createActivities({ db, config, logger, notifier: new ConsoleNotifier(logger), searchAttributes: false });
const spool = new Spool(spoolDir(stateDir!));
// Large records: the kill is likelier to land while one is being written.
const filler = 'x'.repeat(2 * 1024 * 1024);

for (let seq = Number(first); seq <= Number(last); seq++) {
  // The workflow knows the previous digest from the answer it got; a rerun reads it back.
  const previous = seq === 1 ? undefined : spool.find({ taskId: 'killed', runKey: 'r1', seq: seq - 1 })!.digest;
  const answer = await recordArtifact({ taskId: 'killed', runKey: 'r1', key: `verification:ci:${seq}`, kind: 'verification', step: 'gates', payload: { seq, filler }, chain: { seq, previous, at: `2026-01-01T00:00:00.${String(seq).padStart(3, '0')}Z` } });
  process.stdout.write(`ok ${seq} ${answer.spooled}\n`);
}
await db.end();
