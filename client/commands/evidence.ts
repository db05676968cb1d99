// `swarm verify` and `swarm evidence`: a task's signed chain read from Postgres (and this host's
// spool, for records not yet moved there), checked link by link, or exported as a bundle that
// `swarm verify --bundle` checks offline.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { Config } from '../../lib/config.ts';
import { orchestratorKeyFile, parseSigningKey, readPrivateKey } from '../../lib/keys.ts';
import { keyIdOf, PUBLIC_KEY_PATTERN } from '../../workflows/policy/signatures.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import type { Db } from '../../activities/store/db.ts';
import { verifyChain, type ChainReport, type StoredLink } from '../../activities/store/evidence/chain.ts';
import { Envelope } from '../../activities/store/evidence/dsse.ts';
import { Spool, spoolDir } from '../../activities/store/evidence/spool.ts';
import { latestRunKey, listLinks } from '../../activities/store/evidence/store.ts';
import { InvalidOptionError } from './tasks.ts';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.swarmflow.evidence-bundle.v1+json';

/** The exported chain: the envelopes in order, and the public keys that signed them (by key id). */
export const Bundle = z.object({
  mediaType: z.literal(BUNDLE_MEDIA_TYPE),
  taskId: z.string(),
  runKey: z.string(),
  head: z.object({ seq: z.number(), digest: z.string().optional() }).optional(),
  keys: z.array(z.object({ keyid: z.string(), publicKey: z.string() })),
  links: z.array(z.object({ seq: z.number(), spooled: z.boolean().optional(), envelope: Envelope })),
});
export type Bundle = z.infer<typeof Bundle>;

/**
 * The keys a chain may be signed by: the orchestrator's (from its env var or its file, read, never
 * created here), the retired ones, and any given with --key. The private key is read only to
 * derive the public one.
 */
export function trustedKeys(config: Pick<Config, 'stateDir' | 'keys'>, extra: string[] = []): string[] {
  const keys = [...config.keys.retired, ...extra];
  if (config.keys.orchestratorKey) keys.push(parseSigningKey(config.keys.orchestratorKey, 'SWARM_ORCHESTRATOR_KEY').publicKey);
  else if (existsSync(orchestratorKeyFile(config))) keys.push(readPrivateKey(orchestratorKeyFile(config)).publicKey);
  return [...new Set(keys)];
}

export const approverKeys = (config: Pick<Config, 'approvers'>): Record<string, string | undefined> => Object.fromEntries(config.approvers.map((a) => [a.name, 'publicKey' in a ? a.publicKey : undefined]));

export interface ChainSources {
  config: Config;
  /** Postgres; absent when it cannot be reached (the spool alone is read). */
  db?: Db;
  /** The task's workflow state, when the workflow can be asked: its runKey and chain head. */
  state?: TaskState;
}

export interface LoadedChain {
  taskId: string;
  runKey: string;
  links: StoredLink[];
  head?: { seq: number; digest?: string };
  notes: string[];
}

/** The chain of a task's start (`run`, else the workflow's, else the latest with evidence): Postgres rows, then spooled records Postgres lacks. */
export async function loadChain(taskId: string, { config, db, state }: ChainSources, run?: string): Promise<LoadedChain> {
  const notes: string[] = [];
  const spooled = new Spool(spoolDir(config.stateDir)).read().filter((r) => r.taskId === taskId);
  const runKey = run ?? state?.runKey ?? (db ? await latestRunKey(db, taskId) : undefined) ?? spooled.at(-1)?.runKey ?? '';
  const stored = db ? await listLinks(db, taskId, runKey) : [];
  if (!db) notes.push('Postgres could not be reached: only this host\'s spool was read');
  const bySeq = new Map(stored.map((l) => [l.seq, l]));
  for (const r of spooled.filter((s) => s.runKey === runKey)) {
    const there = bySeq.get(r.seq);
    if (there && there.digest !== r.digest) notes.push(`seq ${r.seq}: the spool holds another envelope than Postgres (${r.digest}); Postgres's is checked`);
    if (!there) bySeq.set(r.seq, { envelope: r.envelope, seq: r.seq, key: r.key, kind: r.kind, step: r.step, digest: r.digest, spooled: true });
  }
  const links = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const head = state?.evidence && state.runKey === runKey ? { seq: state.evidence.seq, ...(state.evidence.head ? { digest: state.evidence.head } : {}) } : undefined;
  if (state && !state.evidence) notes.push('the task was started before the signed chain (patch signed-evidence): its artifacts are plain rows');
  return { taskId, runKey, links, head, notes };
}

export function toBundle(chain: LoadedChain, keys: string[]): Bundle {
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    taskId: chain.taskId,
    runKey: chain.runKey,
    ...(chain.head ? { head: chain.head } : {}),
    keys: keys.map((publicKey) => ({ keyid: keyIdOf(publicKey), publicKey })),
    links: chain.links.map((l) => ({ seq: l.seq, ...(l.spooled ? { spooled: true } : {}), envelope: l.envelope })),
  };
}

export function readBundle(path: string): Bundle {
  const parsed = Bundle.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is not a swarmflow evidence bundle: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function writeBundle(path: string, bundle: Bundle): void {
  writeFileSync(path, `${JSON.stringify(bundle, null, 2)}\n`);
}

export function verifyLoaded(chain: LoadedChain, trusted: string[], approvers: Record<string, string | undefined>): ChainReport {
  const report = verifyChain(chain.links, { taskId: chain.taskId, runKey: chain.runKey, trusted, head: chain.head, approverKeys: approvers });
  return { ...report, notes: [...chain.notes, ...report.notes] };
}

/** One line per link, then the verdict naming every break. */
export function formatReport(chain: LoadedChain, report: ChainReport): string {
  const lines = [`task ${chain.taskId} (run ${chain.runKey || '-'}): ${report.links.length} link(s)${chain.head ? `; the workflow wrote ${chain.head.seq}` : ''}`];
  for (const l of report.links) {
    const mark = l.problem ? 'FAIL' : 'ok  ';
    lines.push(`${mark} #${String(l.seq).padEnd(3)} ${l.kind.padEnd(12)} ${l.step.padEnd(10)} ${l.proves}${l.spooled ? ' [spooled, not yet in Postgres]' : ''}${l.keyId ? ` [${l.keyId}]` : ''}${l.problem ? `\n       ✗ ${l.problem}` : ''}`);
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  lines.push(
    report.ok
      ? `verified: every signature, seq 1–${report.links.length} contiguous, each previous the digest of the link before${chain.head ? ', the head the workflow recorded' : ''}`
      : `NOT VERIFIED, ${report.problems.length} problem(s):\n${report.problems.map((p) => `  - ${p}`).join('\n')}`,
  );
  return lines.join('\n');
}

export interface VerifyOptions {
  bundle?: string;
  run?: string;
  key?: string[];
  json?: boolean;
}

function givenKeys(keys: string[] = []): string[] {
  const bad = keys.filter((k) => !PUBLIC_KEY_PATTERN.test(k));
  if (bad.length) throw new InvalidOptionError(`--key ${bad.join(', ')}: a public key is \`ed25519:<64 hex digits>\``);
  return keys;
}

/** Postgres and the workflow, each when it can be reached: what is missing becomes a note, not a failure to run. */
async function sources(config: Config, taskId: string): Promise<ChainSources & { close(): Promise<void> }> {
  const { resolveEndpoints } = await import('../endpoints.ts');
  const { createPool, ping } = await import('../../activities/store/db.ts');
  const { SwarmClient } = await import('../swarm-client.ts');
  const url = resolveEndpoints(config).databaseUrl;
  const db = url ? await ping(url).then(() => createPool(url, 1), () => undefined) : undefined;
  const client = await SwarmClient.connect({ config, connectTimeoutMs: 3_000 }).catch(() => undefined);
  const state = client ? await client.getTask(taskId).catch(() => undefined) : undefined;
  return { config, db, state, close: async () => void (await Promise.all([db?.end(), client?.close()])) };
}

/** `swarm verify`: exit 0 only when the whole chain verifies. */
export async function verifyCommand(taskId: string | undefined, o: VerifyOptions, config: Config, out: NodeJS.WritableStream): Promise<number> {
  let chain: LoadedChain;
  if (o.bundle) {
    const bundle = readBundle(o.bundle);
    if (taskId && taskId !== bundle.taskId) throw new InvalidOptionError(`the bundle is of task ${bundle.taskId}, not ${taskId}`);
    chain = { taskId: bundle.taskId, runKey: bundle.runKey, links: bundle.links, head: bundle.head, notes: [`read from ${o.bundle}: its head is as the bundle says (the workflow was not asked)`] };
  } else {
    if (!taskId) throw new InvalidOptionError('name the task, or give --bundle <file>');
    const from = await sources(config, taskId);
    try {
      chain = await loadChain(taskId, from, o.run);
    } finally {
      await from.close();
    }
  }
  // A bundle's own keys are not trusted: an auditor gives the orchestrator's with --key (or has it configured).
  const report = verifyLoaded(chain, [...trustedKeys(config, givenKeys(o.key))], approverKeys(config));
  out.write(`${o.json ? JSON.stringify({ taskId: chain.taskId, runKey: chain.runKey, ...report }, null, 2) : formatReport(chain, report)}\n`);
  return report.ok ? 0 : 1;
}

/** `swarm evidence <task> --out <file>`: the chain as a bundle, with the public keys that verify it. */
export async function exportCommand(taskId: string, o: { out: string; run?: string }, config: Config, out: NodeJS.WritableStream): Promise<number> {
  const from = await sources(config, taskId);
  let chain: LoadedChain;
  try {
    chain = await loadChain(taskId, from, o.run);
  } finally {
    await from.close();
  }
  if (chain.links.length === 0) {
    out.write(`no signed evidence for task ${taskId}${chain.notes.length ? ` (${chain.notes.join('; ')})` : ''}\n`);
    return 1;
  }
  const keys = trustedKeys(config);
  writeBundle(o.out, toBundle(chain, keys));
  const last = chain.links.at(-1)!;
  out.write(`wrote ${chain.links.length} link(s) of task ${taskId} (run ${chain.runKey || '-'}) to ${o.out}; head seq ${last.seq}, ${last.digest ?? ''}\nverify it with: swarm verify --bundle ${o.out}${keys.length ? ` --key ${keys.at(-1)}` : ''}\n`);
  return 0;
}
