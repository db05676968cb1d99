// The signed chain of a whole task on the GitHub stand-in, through a Postgres outage: a real
// embedded Postgres of this suite's own, stopped after the spawn and before the gate. The task
// reaches the approval gate on the spool; Postgres comes back; the reconciler drains the spool;
// the chain in Postgres is complete and verifies with `swarm verify`, which names every tampering
// (an edited statement, a removed link, two swapped, the end cut); the bundle verifies offline; the
// orchestrator's private key is nowhere the task wrote.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Octokit } from 'octokit';
import { createPool } from '../../activities/store/db.ts';
import { migrate } from '../../activities/store/migrate.ts';
import { envelopeDigest, signEnvelope } from '../../activities/store/evidence/dsse.ts';
import { Spool, spoolDir } from '../../activities/store/evidence/spool.ts';
import { checkSpool } from '../../client/commands/doctor.ts';
import { exportCommand, verifyCommand } from '../../client/commands/evidence.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import type { Config } from '../../lib/config.ts';
import { orchestratorKeyFile, readPrivateKey } from '../../lib/keys.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { renderDetails } from '../../workflows/task/state.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../workers/embedded-postgres.ts';
import { playActions } from '../harness/github/actions.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { createTestbed, eventually } from '../harness/task-testbed.ts';

const REPO = 'octo/outage';
const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = {
  'calc.mjs': ADD,
  'test.mjs': "import assert from 'node:assert';\nimport * as calc from './calc.mjs';\nif (calc.multiply) assert.equal(calc.multiply(4, 5), 20);\n",
  'swarmflow.repo.json': JSON.stringify({ ci: [{ name: 'tests', command: 'node test.mjs' }] }),
  // The agent takes a few seconds: time to stop Postgres while it runs.
  'swarm-scenario.json': JSON.stringify({ steps: [{ sleepMs: 4_000, files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' }] }),
};

let env: TestWorkflowEnvironment;
let standin: GitHubStandin;
let bare: string;
let postgres: EmbeddedPostgres | undefined;
const pgDir = join(tempDir('pg-outage'), 'data');
let pgPort: number;
const logger = new SwarmLogger({ level: 'WARN' });
beforeAll(async () => {
  env = await devServerEnv();
  standin = await startStandin({ root: tempDir('github') });
  bare = (await standin.createRepo('octo', 'outage', FILES)).dir;
  pgPort = await freePort();
  postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, logger });
});
afterAll(async () => {
  await postgres?.stop();
  await standin?.stop();
  await env?.teardown();
});

/** Runs `swarm verify` (or `swarm evidence`) as the CLI does, capturing what it prints. */
async function cli(run: (out: NodeJS.WritableStream) => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => void ((out += chunk.toString()), done()) });
  return { code: await run(sink), out };
}

/** Every file under `dir` but the key itself, as text. */
function filesUnder(dir: string, skip: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => f !== skip && statSync(f).isFile())
    .map((f) => readFileSync(f).toString('latin1'))
    .join('\n');
}

describe('the evidence chain through a Postgres outage', () => {
  it('reaches the gate on the spool, drains it exactly once when Postgres is back, and verifies complete; swarm verify names each tampering', async () => {
    const url = postgres!.url;
    const db = createPool(url);
    await migrate(db);
    const bed = await createTestbed(env, { github: { token: 'standin-token', apiUrl: standin.url, gitUrl: standin.url }, database: { url, db, drop: () => db.end() } });
    // What the CLI on this host reads: this Postgres, this Temporal server, this state folder.
    const cliConfig: Config = { ...bed.config, database: { ...bed.config.database, url }, temporal: { ...bed.config.temporal, address: env.address } };
    const client = SwarmClient.fromClient(env.client, bed.config);
    const spool = new Spool(spoolDir(bed.config.stateDir));
    const ci = playActions(standin, REPO, () => bare);
    const id = 'gh-outage';
    const state = () => client.getTask(id);
    try {
      await bed.run(async () => {
        await client.startTask({ id, repository: REPO, title: 'Add multiply()', description: 'multiply(a, b)', acceptanceCriteria: ['multiply(4, 5) is 20'], shape: 'backend', agent: 'scripted', limits: { monitorInterval: '1s' } });
        // Spawned (intent and spawn receipt in Postgres), the agent still at work: Postgres goes away.
        const spawned = await eventually(state, (s) => (s.evidence?.seq ?? 0) >= 2 && !!s.session, 60_000);
        expect(spawned.evidence).toMatchObject({ seq: 2, spooled: 0 });
        await postgres!.stop();
        postgres = undefined;

        const gated = await eventually(state, (s) => s.status === 'awaiting_approval', 120_000);
        const written = gated.evidence!.seq;
        expect(gated.evidence!.spooled).toBe(written - 2);
        expect(spool.read().map((r) => r.seq)).toEqual(Array.from({ length: written - 2 }, (_, i) => i + 3));
        expect(renderDetails(gated)).toContain(`evidence chain: ${written} signed link(s), head ${gated.evidence!.head!.slice(0, 19)}, ${written - 2} spooled (Postgres unreachable)`);
        expect(checkSpool(cliConfig, false)).toMatchObject({ status: 'fail', detail: expect.stringContaining(`${written - 2} signed record(s) of 1 task(s) (${id})`) });
        // On GitHub, the evidence comment names the chain's head and length.
        const octokit = new Octokit({ baseUrl: standin.url, auth: 'standin-token' });
        const comment = (await octokit.rest.issues.listComments({ owner: 'octo', repo: 'outage', issue_number: 1 })).data.find((c) => c.body?.startsWith('<!-- swarmflow-evidence -->'));
        expect(comment?.body).toContain(`**Evidence chain**: ${written} signed statement(s) (${written - 2} of them in the host's spool: Postgres was unreachable), head \`${gated.evidence!.head}\``);
        // While Postgres is down, verify reads the spool and says the chain is there, marked spooled.
        const offline = await cli((out) => verifyCommand(id, {}, cliConfig, out));
        expect(offline.out).toContain('[spooled, not yet in Postgres]');
        expect(offline.out).toContain('note: Postgres could not be reached');

        // Postgres is back: the orchestration worker's reconciler drains the spool, in order.
        postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, logger });
        await eventually(() => Promise.resolve(spool.read().length), (n) => n === 0, 30_000);
        expect(checkSpool(cliConfig, true)).toMatchObject({ status: 'ok' });
        const counts = await db.query<{ n: string; seqs: string; spooled: string; max: number }>(`SELECT count(*) AS n, count(DISTINCT seq) AS seqs, count(*) FILTER (WHERE spooled) AS spooled, max(seq) AS max FROM evidence WHERE task_id = $1`, [id]);
        expect(counts.rows[0]).toEqual({ n: String(written), seqs: String(written), spooled: String(written - 2), max: written });
        const keys = await db.query<{ n: string; keys: string }>('SELECT count(*) AS n, count(DISTINCT key) AS keys FROM artifacts WHERE task_id = $1', [id]);
        const distinct = await db.query<{ n: string }>('SELECT count(DISTINCT key) AS n FROM evidence WHERE task_id = $1', [id]);
        expect(keys.rows[0]).toEqual({ n: distinct.rows[0]!.n, keys: distinct.rows[0]!.n });

        const verified = await cli((out) => verifyCommand(id, {}, cliConfig, out));
        expect(verified.out).toContain(`verified: every signature, seq 1–${written} contiguous, each previous the digest of the link before, the head the workflow recorded`);
        expect(verified.code).toBe(0);
        expect(verified.out).toMatch(/ok {3}#1 {3}intent {7}intake {5}intent: "Add multiply\(\)" on octo\/outage routed to scripted/);
        expect(verified.out).toMatch(/CI passed at [0-9a-f]{12}: 1 check\(s\) \(tests passed\)/);
        expect(verified.out).toMatch(/agent scripted ended attempt 1: exit 0, 1 commit\(s\) to [0-9a-f]{12}/);

        // Tampering with what Postgres holds, one way at a time, each undone after.
        const row = async (seq: number) => (await db.query<{ envelope: { payload: string } }>('SELECT envelope FROM evidence WHERE task_id = $1 AND seq = $2', [id, seq])).rows[0]!.envelope;
        const setEnvelope = (seq: number, envelope: unknown) => db.query('UPDATE evidence SET envelope = $3 WHERE task_id = $1 AND seq = $2', [id, seq, JSON.stringify(envelope)]);
        for (let seq = 1; seq <= written; seq++) {
          const original = await row(seq);
          const statement = JSON.parse(Buffer.from(original.payload, 'base64').toString('utf8')) as { subject: Array<{ name: string }> };
          statement.subject[0]!.name += '-edited';
          await setEnvelope(seq, { ...original, payload: Buffer.from(JSON.stringify(statement)).toString('base64') });
          const broken = await cli((out) => verifyCommand(id, {}, cliConfig, out));
          expect({ seq, code: broken.code }).toEqual({ seq, code: 1 });
          expect(broken.out).toMatch(new RegExp(`NOT VERIFIED[^]*\\n  - seq ${seq}: bad signature by sha256:[0-9a-f]{16}: the payload or the signature was changed`));
          await setEnvelope(seq, original);
        }
        const third = (await db.query('SELECT * FROM evidence WHERE task_id = $1 AND seq = 3', [id])).rows[0] as Record<string, unknown>;
        await db.query('DELETE FROM evidence WHERE task_id = $1 AND seq = 3', [id]);
        const deleted = await cli((out) => verifyCommand(id, {}, cliConfig, out));
        expect(deleted).toMatchObject({ code: 1, out: expect.stringContaining('  - seq 4: seq 3 missing before it') });
        await db.query('INSERT INTO evidence SELECT * FROM json_populate_record(NULL::evidence, $1)', [JSON.stringify(third)]);
        const [two, four] = [await row(2), await row(4)];
        await setEnvelope(2, four);
        await setEnvelope(4, two);
        const swapped = await cli((out) => verifyCommand(id, {}, cliConfig, out));
        expect(swapped.code).toBe(1);
        expect(swapped.out).toContain("  - seq 2: the store's seq 2 holds the statement signed as seq 4: records swapped or renumbered");
        expect(swapped.out).toContain("  - seq 4: the store's seq 4 holds the statement signed as seq 2: records swapped or renumbered");
        await setEnvelope(2, two);
        await setEnvelope(4, four);
        const last = (await db.query('SELECT * FROM evidence WHERE task_id = $1 AND seq = $2', [id, written])).rows[0] as Record<string, unknown>;
        await db.query('DELETE FROM evidence WHERE task_id = $1 AND seq = $2', [id, written]);
        const cut = await cli((out) => verifyCommand(id, {}, cliConfig, out));
        expect(cut).toMatchObject({ code: 1, out: expect.stringContaining(`  - the chain is cut: the workflow wrote ${written} link(s), the store has ${written - 1} (seq ${written} missing)`) });
        await db.query('INSERT INTO evidence SELECT * FROM json_populate_record(NULL::evidence, $1)', [JSON.stringify(last)]);
        expect((await cli((out) => verifyCommand(id, {}, cliConfig, out))).code).toBe(0);

        // Approved and merged: the final record closes the chain, in Postgres directly.
        await client.decide(id, { decision: 'approve', by: 'alice' });
        expect((await client.result(id)).status).toBe('merged');
        const merged = await state();
        expect(merged.evidence).toMatchObject({ seq: written + 1, spooled: 0 });
        const closed = await cli((out) => verifyCommand(id, {}, cliConfig, out));
        expect(closed.code).toBe(0);
        expect(closed.out).toMatch(new RegExp(`#${written + 1} +verification human_gate approve by alice \\(signed via key\\)`));
        expect(closed.out).not.toContain('was not checked');
        // Not even the orchestrator's key can make an approval: alice's signature inside is checked against her configured key.
        const finalEnvelope = await row(written + 1);
        const finalStatement = JSON.parse(Buffer.from(finalEnvelope.payload, 'base64').toString('utf8')) as { predicate: { record: { decision: { signed: { at: string } } } } };
        finalStatement.predicate.record.decision.signed.at = new Date(Date.parse(finalStatement.predicate.record.decision.signed.at) - 1000).toISOString();
        const forged = signEnvelope(finalStatement, readPrivateKey(orchestratorKeyFile(bed.config)));
        await setEnvelope(written + 1, forged);
        await db.query('UPDATE evidence SET digest = $3 WHERE task_id = $1 AND seq = $2', [id, written + 1, envelopeDigest(forged)]);
        expect(await cli((out) => verifyCommand(id, {}, cliConfig, out))).toMatchObject({ code: 1, out: expect.stringContaining(`  - seq ${written + 1}: the approver alice's signature on the decision does not verify with their configured key`) });
        await setEnvelope(written + 1, finalEnvelope);
        await db.query('UPDATE evidence SET digest = $3 WHERE task_id = $1 AND seq = $2', [id, written + 1, merged.evidence!.head]);
        expect((await cli((out) => verifyCommand(id, {}, cliConfig, out))).code).toBe(0);

        // The bundle, for an auditor: verifies offline with the orchestrator's public key given, not with the bundle's own keys.
        const bundle = join(tempDir('bundle'), 'bundle.json');
        const exported = await cli((out) => exportCommand(id, { out: bundle }, cliConfig, out));
        expect(exported.code).toBe(0);
        const publicKey = readPrivateKey(orchestratorKeyFile(bed.config)).publicKey;
        const auditor: Config = { ...cliConfig, stateDir: tempDir('auditor'), keys: { ...cliConfig.keys, orchestratorKey: undefined, orchestratorKeyFile: undefined, retired: [] } };
        expect((await cli((out) => verifyCommand(undefined, { bundle }, auditor, out))).code).toBe(1);
        const offline2 = await cli((out) => verifyCommand(undefined, { bundle, key: [publicKey] }, auditor, out));
        expect(offline2.out).toContain(`seq 1–${written + 1} contiguous`);
        expect(offline2.code).toBe(0);
        const doc = JSON.parse(readFileSync(bundle, 'utf8')) as { links: Array<{ envelope: { payload: string } }> };
        [doc.links[1], doc.links[2]] = [doc.links[2]!, doc.links[1]!];
        writeFileSync(bundle, JSON.stringify(doc));
        const reordered = await cli((out) => verifyCommand(undefined, { bundle, key: [publicKey] }, auditor, out));
        expect(reordered).toMatchObject({ code: 1, out: expect.stringContaining('  - seq 3: seq 2 missing before it\n  - seq 2: out of order: it comes after seq 3') });

        // The orchestrator's private key: in its 0600 file only. Not in the history (inputs,
        // results, state, search attributes, memo), not in Postgres, not in any other file the task left.
        const keyFile = orchestratorKeyFile(bed.config);
        const pem = readFileSync(keyFile, 'utf8');
        const secrets = [pem.split('\n').slice(1, -2).join(''), createPrivateKey(pem).export({ format: 'jwk' }).d!, Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url').toString('hex')];
        const history = historyToJSON(await env.client.workflow.getHandle(`task-${id}`).fetchHistory());
        const tables = (await db.query('SELECT (SELECT json_agg(e)::text FROM evidence e) || (SELECT json_agg(a)::text FROM artifacts a) AS text')).rows[0] as { text: string };
        const left = filesUnder(bed.config.stateDir, keyFile);
        for (const secret of secrets) {
          expect(history.includes(secret)).toBe(false);
          expect(tables.text.includes(secret)).toBe(false);
          expect(left.includes(secret)).toBe(false);
          expect(JSON.stringify(merged).includes(secret)).toBe(false);
        }
        await recordHistory(env.client, `task-${id}`, 'dev-server-evidence-outage');
      });
    } finally {
      ci.stop();
      await bed.teardown();
    }
  }, 300_000);
});
