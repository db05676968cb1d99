// The signed chain's cost: signing an artifact (statement, canonical JSON, Ed25519, PAE digest) and
// verifying one (base64, JSON, Ed25519), on payloads the size a task writes (a spawn receipt with a
// 6 kB prompt, a CI verdict with output tails); storing a link in Postgres and appending it to the
// spool (fsync'd); and `swarm verify` on an N-link chain: in process against Postgres, and as the
// CLI process a user runs on an exported bundle.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { migrate } from '../../activities/store/migrate.ts';
import { createPool } from '../../activities/store/db.ts';
import { verifyChain } from '../../activities/store/evidence/chain.ts';
import { openEnvelope } from '../../activities/store/evidence/dsse.ts';
import { signRecord } from '../../activities/store/evidence/record.ts';
import { Spool } from '../../activities/store/evidence/spool.ts';
import { insertSigned, type SignedRecord } from '../../activities/store/evidence/store.ts';
import { formatReport, loadChain, toBundle, verifyLoaded, writeBundle } from '../../client/commands/evidence.ts';
import { loadConfig } from '../../lib/config.ts';
import { generateSigningKey } from '../../lib/keys.ts';
import { freePort } from '../../lib/ports.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import type { ArtifactInput } from '../../workflows/task/types.ts';
import { startEmbeddedPostgres } from '../../workers/embedded-postgres.ts';
import { benchSection, type Cleanup } from './world.ts';
import { median, progress } from './util.ts';

export interface EvidenceResult {
  links: number;
  payloadBytes: { median: number; max: number };
  /** Per artifact, microseconds, over `samples` artifacts. */
  signUs: number;
  verifyUs: number;
  samples: number;
  insertMs: number;
  spoolAppendMs: number;
  /** verifyChain alone over the N links (ms, runs). */
  chainMs: number[];
  /** swarm verify's work in process: Postgres read, verify, report (ms, runs). */
  commandMs: number[];
  /** `swarmflow verify --bundle` as a process (ms, runs). */
  cliMs: number[];
}

const HEAD = 'ab'.repeat(20);

/** A task's artifacts, cycling through the kinds the steps write, at realistic sizes. */
function artifact(i: number): Omit<ArtifactInput, 'taskId' | 'runKey'> {
  const tail = 'Error: expected 20, got 9\n    at test.mjs:3:8\n'.repeat(40);
  const kinds: Array<Omit<ArtifactInput, 'taskId' | 'runKey'>> = [
    { key: `receipt:spawn:${i}`, kind: 'receipt', step: 'spawn', payload: { session: `swarm-bench-${i}`, attempt: i, agent: 'codex', prompt: 'Implement the change described below, with tests.\n'.repeat(120), startedAt: '2026-01-01T00:00:00.000Z' } },
    { key: `receipt:run:${i}.1`, kind: 'receipt', step: 'monitor', payload: { agent: 'codex', model: 'gpt-5', attempt: i, run: 1, exitCode: 0, commits: 2, headSha: HEAD, outcome: { status: 'finished', usage: { inputTokens: 12000, cachedInputTokens: 3000, outputTokens: 900 }, cost: { usd: 0.03, source: 'price_table' } } } },
    { key: `verification:ci:${i}`, kind: 'verification', step: 'review', payload: { headSha: HEAD, status: 'failed', checks: [{ name: 'tests', status: 'failed', outputTail: tail }, { name: 'lint', status: 'passed', outputTail: '' }] } },
    { key: `verification:review:${i}`, kind: 'verification', step: 'review', payload: { headSha: HEAD, results: [{ reviewer: 'claude', status: 'ok', findings: [{ severity: 'minor', file: 'calc.mjs', line: 2, message: 'name the parameters' }] }] } },
  ];
  return i === 1 ? { key: 'intent', kind: 'intent', step: 'intake', payload: { spec: { title: 'Bench', repository: 'octo/bench', description: 'x'.repeat(2000) }, agent: 'codex', routingReason: 'shape backend', ci: ['tests', 'lint'], uiPaths: [] } } : kinds[i % kinds.length]!;
}

function chain(n: number, key: ReturnType<typeof generateSigningKey>, taskId: string): SignedRecord[] {
  let previous: string | undefined;
  return Array.from({ length: n }, (_, i) => {
    const r = signRecord({ taskId, runKey: 'bench', ...artifact(i + 1), chain: { seq: i + 1, previous, at: '2026-01-01T00:00:00.000Z' } }, key);
    previous = r.digest;
    return r;
  });
}

export async function benchEvidence({ n, keep, onCleanup }: { n: number; keep: boolean; onCleanup: (fn: Cleanup) => () => void }): Promise<EvidenceResult> {
  const { defer, cleanUp, logger, dir } = benchSection('evidence', { keep, onCleanup });
  try {
    const key = generateSigningKey();
    progress('evidence: signing and verifying 2000 artifacts');
    const samples = 2_000;
    chain(50, key, 'warm-up');
    const signStarted = performance.now();
    const signed = chain(samples, key, 'sign');
    const signUs = ((performance.now() - signStarted) * 1000) / samples;
    const verifyStarted = performance.now();
    for (const r of signed) if (!openEnvelope(r.envelope, [key.publicKey]).ok) throw new Error('a fresh envelope did not verify');
    const verifyUs = ((performance.now() - verifyStarted) * 1000) / samples;
    const sizes = signed.map((r) => Buffer.from(r.envelope.payload, 'base64').length);

    progress('evidence: starting embedded Postgres');
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort(), logger });
    defer(() => pg.stop());
    const db = createPool(pg.url);
    defer(() => db.end());
    await migrate(db);
    const links = chain(n, key, 'bench-verify');
    const insertStarted = performance.now();
    for (const r of links) await insertSigned(db, r);
    const insertMs = (performance.now() - insertStarted) / n;
    const spool = new Spool(join(dir, 'spool'));
    const appendStarted = performance.now();
    for (const r of links) spool.append(r);
    const spoolAppendMs = (performance.now() - appendStarted) / n;

    const stored = links.map((r) => ({ envelope: r.envelope, seq: r.seq, key: r.key, kind: r.kind, step: r.step, digest: r.digest }));
    const chainMs = Array.from({ length: 10 }, () => {
      const started = performance.now();
      if (!verifyChain(stored, { taskId: 'bench-verify', runKey: 'bench', trusted: [key.publicKey] }).ok) throw new Error('the bench chain did not verify');
      return performance.now() - started;
    });

    // What `swarm verify <task>` does once connected: read the chain from Postgres, verify it, write the report.
    const config = loadConfig({ env: { SWARM_STATE_DIR: join(dir, 'state') } });
    progress(`evidence: swarm verify on a ${n}-link chain, in process and as the CLI`);
    const commandMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const loaded = await loadChain('bench-verify', { config, db }, 'bench');
      const report = verifyLoaded(loaded, [key.publicKey], {});
      formatReport(loaded, report);
      if (!report.ok || loaded.links.length !== n) throw new Error('swarm verify failed on the bench chain');
      commandMs.push(performance.now() - started);
    }
    const bundle = join(dir, 'bundle.json');
    writeBundle(bundle, toBundle({ taskId: 'bench-verify', runKey: 'bench', links: stored, notes: [] }, [key.publicKey]));
    const cliMs = Array.from({ length: 5 }, () => {
      const started = performance.now();
      execFileSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'swarmflow.mjs'), 'verify', '--bundle', bundle, '--key', key.publicKey], { env: { ...process.env, SWARM_STATE_DIR: join(dir, 'cli-state') }, stdio: 'ignore' });
      return performance.now() - started;
    });
    return { links: n, payloadBytes: { median: median(sizes), max: Math.max(...sizes) }, signUs, verifyUs, samples, insertMs, spoolAppendMs, chainMs, commandMs, cliMs };
  } finally {
    await cleanUp();
  }
}
