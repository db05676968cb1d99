// The spool when Postgres is unreachable, against a real Postgres and real processes: a record
// whose activity answered survives a SIGKILL of its worker, one cut off mid-write is written again
// by the retry and counted once, and the reconciler moves them into Postgres in order, exactly once.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { createActivities } from '../../activities/index.ts';
import { createPool } from '../../activities/store/db.ts';
import { verifyChain } from '../../activities/store/evidence/chain.ts';
import { drainSpool } from '../../activities/store/evidence/reconciler.ts';
import { Spool, spoolDir } from '../../activities/store/evidence/spool.ts';
import { insertSigned, listLinks } from '../../activities/store/evidence/store.ts';
import { ConsoleNotifier } from '../../activities/notify/notifier.ts';
import { isStoreUnreachable } from '../../activities/errors.ts';
import { loadConfig } from '../../lib/config.ts';
import { generateSigningKey } from '../../lib/keys.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

const WRITER = join(PROJECT_ROOT, 'test', 'harness', 'spool-writer.ts');
const key = generateSigningKey();
const logger = new SwarmLogger({ level: 'ERROR' });
let database: TestDatabase;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => {
  await database?.drop();
});

/** Runs the writer; with `killAfter`, SIGKILLs it as soon as that many activities answered. */
function writer(stateDir: string, first: number, last: number, deadPort: number, killAfter?: number): Promise<{ acknowledged: number[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, stateDir, String(first), String(last), String(deadPort)], { env: { ...process.env, SPOOL_KEY: key.privateKeyPem }, stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: number[] = [];
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        acknowledged.push(Number(buffered.slice(0, nl).split(' ')[1]));
        buffered = buffered.slice(nl + 1);
        if (killAfter !== undefined && acknowledged.length === killAfter) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' || code === 0 ? resolve({ acknowledged, killed: signal === 'SIGKILL' }) : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

const rawSeqs = (spool: Spool) =>
  readFileSync(spool.file, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((line) => (JSON.parse(line) as { seq: number }).seq);

describe('the spool', () => {
  it('loses nothing and holds nothing twice when its worker is SIGKILLed mid-stream, again and again; the reconciler then moves it all into Postgres once', async () => {
    const stateDir = tempDir('spool-kill');
    const spool = new Spool(spoolDir(stateDir));
    const dead = await freePort();
    let next = 1;
    for (const killAfter of [3, 2, 4]) {
      const { acknowledged, killed } = await writer(stateDir, next, next + 20, dead, killAfter);
      expect(killed).toBe(true);
      // Every answered record is on disk; the one in flight is there whole, or not at all.
      const held = spool.read().map((r) => r.seq);
      const answered = acknowledged.at(-1)!;
      expect(held.slice(0, answered)).toEqual(Array.from({ length: answered }, (_, i) => i + 1));
      expect(held.length - answered).toBeLessThanOrEqual(1);
      // Temporal runs the unanswered activity again: the writer resumes there.
      next = answered + 1;
    }
    const { acknowledged } = await writer(stateDir, next, next + 2, dead);
    expect(acknowledged).toEqual([next, next + 1, next + 2]);
    const total = next + 2;
    // No line twice in the file (a record already appended is found, not appended again), none torn.
    expect(rawSeqs(spool)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(verifyChain(spool.read(), { taskId: 'killed', runKey: 'r1', trusted: [key.publicKey] }).problems).toEqual([]);

    expect(await drainSpool(database.db, spool)).toBe(total);
    expect(spool.read()).toEqual([]);
    expect(await drainSpool(database.db, spool)).toBe(0);
    const links = await listLinks(database.db, 'killed', 'r1');
    expect(links.map((l) => l.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(verifyChain(links, { taskId: 'killed', runKey: 'r1', trusted: [key.publicKey], head: { seq: total, digest: links.at(-1)!.digest } }).ok).toBe(true);
    const { rows } = await database.db.query<{ n: string; spooled: string }>("SELECT count(*) AS n, count(*) FILTER (WHERE spooled) AS spooled FROM evidence WHERE task_id = 'killed'");
    expect(rows[0]).toEqual({ n: String(total), spooled: String(total) });
  }, 120_000);

  it('ignores a torn last line (a write cut off by a kill), and the retried append lands whole after the records before it', async () => {
    const stateDir = tempDir('spool-torn');
    const config = loadConfig({ env: { SWARM_STATE_DIR: stateDir, SWARM_ORCHESTRATOR_KEY: key.privateKeyPem } });
    const dead = createPool(`postgres://nobody@127.0.0.1:${await freePort()}/none`, 1);
    const { recordArtifact } = createActivities({ db: dead, config, logger, notifier: new ConsoleNotifier(logger), searchAttributes: false });
    const spool = new Spool(spoolDir(stateDir));
    const write = (seq: number, previous?: string) => recordArtifact({ taskId: 'torn', runKey: 'r', key: `receipt:pr:${seq}`, kind: 'receipt', step: 'pr', payload: { number: seq }, chain: { seq, previous, at: '2026-01-01T00:00:00.000Z' } });
    const one = await write(1);
    const two = await write(2, one.digest);
    expect(two).toMatchObject({ recorded: true, seq: 2, spooled: 2 });
    const three = await write(3, two.digest);
    // The third write cut off halfway: its activity never answered.
    const size = readFileSync(spool.file).length;
    const thirdLine = JSON.stringify(spool.find({ taskId: 'torn', runKey: 'r', seq: 3 })).length + 1;
    truncateSync(spool.file, size - Math.floor(thirdLine / 2));
    expect(spool.read().map((r) => r.seq)).toEqual([1, 2]);
    // The retry signs the same statement to the same envelope.
    expect(await write(3, two.digest)).toEqual(three);
    expect(rawSeqs(spool)).toEqual([1, 2, 3]);
    await dead.end();
  });

  it('goes on to the spool while it holds records, even with Postgres up (order is kept), and to Postgres once it is empty', async () => {
    const stateDir = tempDir('spool-order');
    const config = loadConfig({ env: { SWARM_STATE_DIR: stateDir, SWARM_ORCHESTRATOR_KEY: key.privateKeyPem } });
    const spool = new Spool(spoolDir(stateDir));
    const dead = createPool(`postgres://nobody@127.0.0.1:${await freePort()}/none`, 1);
    const down = createActivities({ db: dead, config, logger, notifier: new ConsoleNotifier(logger), searchAttributes: false, spool });
    const up = createActivities({ db: database.db, config, logger, notifier: new ConsoleNotifier(logger), searchAttributes: false, spool });
    const input = (seq: number, previous?: string) => ({ taskId: 'order', runKey: 'r', key: `receipt:pr:${seq}`, kind: 'receipt' as const, step: 'pr' as const, payload: { number: seq }, chain: { seq, previous, at: '2026-01-01T00:00:00.000Z' } });
    const first = await down.recordArtifact(input(1));
    expect(first.spooled).toBe(1);
    const second = await up.recordArtifact(input(2, first.digest));
    expect(second.spooled).toBe(2);
    expect((await listLinks(database.db, 'order', 'r')).length).toBe(0);
    // A reconciler that died after its inserts, before it emptied the spool: nothing twice.
    await insertSigned(database.db, spool.read()[0]!, { spooled: true });
    expect(await drainSpool(database.db, spool)).toBe(2);
    const third = await up.recordArtifact(input(3, second.digest));
    expect(third.spooled).toBe(0);
    expect((await listLinks(database.db, 'order', 'r')).map((l) => l.seq)).toEqual([1, 2, 3]);
    await dead.end();
  });

  it('tells an unreachable store from a refused write', async () => {
    const dead = createPool(`postgres://nobody@127.0.0.1:${await freePort()}/none`, 1);
    const unreachable = await dead.query('select 1').catch((err: unknown) => err);
    expect(isStoreUnreachable(unreachable)).toBe(true);
    await dead.end();
    const refused = await database.db.query("INSERT INTO evidence (task_id, run_key, seq, key, kind, step, digest, envelope) VALUES ('x', '', 0, 'k', 'nope', 's', 'd', '{}')").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Error);
    expect(isStoreUnreachable(refused)).toBe(false);
  });
});
