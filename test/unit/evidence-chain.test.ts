// The signed chain, checked without a store: DSSE's PAE, deterministic signatures, and every way
// a stored chain can be tampered with (any field of any statement edited, a link removed, two
// swapped, the end cut, a foreign key) named at the link where it happened; key rotation; the
// approver's own signature inside the approval.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, signText, type SigningKey } from '../../lib/keys.ts';
import { canonicalJson } from '../../activities/store/evidence/canonical.ts';
import { verifyChain, type StoredLink } from '../../activities/store/evidence/chain.ts';
import { envelopeDigest, openEnvelope, pae, signEnvelope, type Envelope } from '../../activities/store/evidence/dsse.ts';
import { signRecord } from '../../activities/store/evidence/record.ts';
import { partsOf, PREDICATE_TYPES, STATEMENT_TYPE } from '../../activities/store/evidence/statement.ts';
import type { SignedRecord } from '../../activities/store/evidence/store.ts';
import { toBundle, writeBundle } from '../../client/commands/evidence.ts';
import { decisionMessage } from '../../workflows/policy/signatures.ts';
import { tempDir } from '../harness/paths.ts';
import { swarm } from '../harness/stack-process.ts';
import type { ArtifactInput } from '../../workflows/task/types.ts';

const HEAD = 'c0ffee'.repeat(6) + 'c0ff';
const TASK = { taskId: 'calc', runKey: 'run-1' };

/** A task's artifacts as the workflow writes them, one of each kind the steps write. */
function artifacts(decision: Record<string, unknown> = { decision: 'approve', by: 'alice', at: '2026-01-01T00:00:00.000Z' }): Array<Omit<ArtifactInput, 'taskId' | 'runKey'>> {
  return [
    { key: 'intent', kind: 'intent', step: 'intake', payload: { spec: { title: 'Add multiply', repository: 'octo/calc' }, agent: 'scripted', routingReason: 'shape backend', ci: ['tests'], uiPaths: [] } },
    { key: 'receipt:spawn:1', kind: 'receipt', step: 'spawn', payload: { session: 'swarm-calc-1', attempt: 1, agent: 'scripted', prompt: 'Add multiply(a, b).', startedAt: '2026-01-01T00:00:00.000Z' } },
    { key: 'receipt:run:1.1', kind: 'receipt', step: 'monitor', payload: { agent: 'scripted', attempt: 1, run: 1, exitCode: 0, commits: 1, headSha: HEAD, outcome: { status: 'finished', usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 5 }, cost: { usd: 0.01, source: 'price_table' } } } },
    { key: 'receipt:pr:1', kind: 'receipt', step: 'pr', payload: { number: 1, url: 'https://github.com/octo/calc/pull/1' } },
    { key: `verification:ci:${HEAD}`, kind: 'verification', step: 'gates', payload: { headSha: HEAD, status: 'passed', checks: [{ name: 'tests', status: 'passed' }, { name: 'lint', status: 'passed' }] } },
    { key: 'verification:final', kind: 'verification', step: 'human_gate', payload: { headSha: HEAD, decision, merge: { sha: 'ab'.repeat(20), at: '2026-01-01T01:00:00.000Z' } } },
  ];
}

function chainOf(key: SigningKey, list = artifacts(), keys: SigningKey[] = []): SignedRecord[] {
  let previous: string | undefined;
  return list.map((a, i) => {
    const r = signRecord({ ...TASK, ...a, chain: { seq: i + 1, previous, at: `2026-01-01T00:00:0${i}.000Z` } }, keys[i] ?? key);
    previous = r.digest;
    return r;
  });
}

const stored = (records: SignedRecord[]): StoredLink[] => records.map((r) => ({ envelope: r.envelope, seq: r.seq, key: r.key, kind: r.kind, step: r.step, digest: r.digest }));
const want = (key: SigningKey, extra: Partial<Parameters<typeof verifyChain>[1]> = {}) => ({ ...TASK, trusted: [key.publicKey], ...extra });

/** The same envelope with its statement replaced (its signature kept: what an edit in the table does). */
function withStatement(envelope: Envelope, statement: unknown): Envelope {
  return { ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') };
}
const statementOf = (e: Envelope) => JSON.parse(Buffer.from(e.payload, 'base64').toString('utf8')) as Record<string, unknown>;

/** Every leaf of a JSON value, by path. */
function leaves(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [path];
  return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, Array.isArray(value) ? Number(k) : k]));
}
function edited(value: unknown, path: Array<string | number>): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let at = copy;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  const old = at[last];
  at[last] = typeof old === 'number' ? old + 1 : typeof old === 'boolean' ? !old : old === null ? 'x' : `${old as string}!`;
  return copy;
}

describe('DSSE', () => {
  it("signs the spec's Pre-Authentication Encoding", () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
  it('gives the same envelope for the same statement, whatever order its keys were built in (a retried activity changes nothing)', () => {
    const key = generateSigningKey();
    const a = signEnvelope({ b: 1, a: { d: [1, 2], c: 'x' } }, key);
    const b = signEnvelope({ a: { c: 'x', d: [1, 2] }, b: 1 }, key);
    expect(a).toEqual(b);
    expect(canonicalJson({ b: 1, a: undefined, c: [undefined] })).toBe('{"b":1,"c":[null]}');
    expect(a.signatures[0]!.keyid).toBe(key.keyId);
  });
});

describe('the statements', () => {
  it('are in-toto Statements v1: subject by digest, a predicate type per kind, the payload verbatim, the chain link inside what is signed', () => {
    const key = generateSigningKey();
    const records = chainOf(key);
    const statements = records.map((r) => statementOf(r.envelope));
    expect(statements.every((s) => s._type === STATEMENT_TYPE)).toBe(true);
    expect(statements.map((s) => s.predicateType)).toEqual([PREDICATE_TYPES.intent, PREDICATE_TYPES.receipt, PREDICATE_TYPES.receipt, PREDICATE_TYPES.receipt, PREDICATE_TYPES.verification, PREDICATE_TYPES.verification]);
    expect(statements[4]!.subject).toEqual([{ name: `git:${HEAD}`, digest: { gitCommit: HEAD } }]);
    expect((statements[1]!.predicate as { buildDefinition: { externalParameters: { promptDigest: string } } }).buildDefinition.externalParameters.promptDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(partsOf(statements[5])!.link).toMatchObject({ ...TASK, seq: 6, previous: records[4]!.digest, key: 'verification:final' });
    expect(partsOf(statements[5])!.record).toEqual(artifacts()[5]!.payload);
  });
});

describe('verifying a chain', () => {
  it('passes a whole chain and says what each link proves', () => {
    const key = generateSigningKey();
    const records = chainOf(key);
    const report = verifyChain(stored(records), want(key, { head: { seq: 6, digest: records[5]!.digest } }));
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.links.map((l) => l.proves)).toEqual([
      'intent: "Add multiply" on octo/calc routed to scripted (shape backend); CI 1 check(s)',
      'agent scripted started attempt 1 run 1 in session swarm-calc-1',
      `agent scripted ended attempt 1: exit 0, 1 commit(s) to ${HEAD.slice(0, 12)}, 10 in / 5 out tokens, $0.0100`,
      'PR #1 opened: https://github.com/octo/calc/pull/1',
      `CI passed at ${HEAD.slice(0, 12)}: 2 check(s) (tests passed, lint passed)`,
      `approve by alice (unsigned) at ${HEAD.slice(0, 12)}; merged as ${'ab'.repeat(6)}`,
    ]);
  });

  it('names the link of any field edited in any statement', () => {
    const key = generateSigningKey();
    const records = chainOf(key);
    let checked = 0;
    for (const [i, r] of records.entries()) {
      const statement = statementOf(r.envelope);
      for (const path of leaves(statement)) {
        const links = stored(records);
        links[i] = { ...links[i]!, envelope: withStatement(r.envelope, edited(statement, path)) };
        const report = verifyChain(links, want(key));
        expect({ path, ok: report.ok }).toEqual({ path, ok: false });
        expect({ path, first: report.problems[0] }).toEqual({ path, first: expect.stringMatching(new RegExp(`^seq ${i + 1}: bad signature by ${key.keyId}`)) });
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it("names an edit re-signed with another key, and the store's own columns edited", () => {
    const key = generateSigningKey();
    const records = chainOf(key);
    const forged = signEnvelope(edited(statementOf(records[4]!.envelope), ['predicate', 'record', 'status']), generateSigningKey());
    const links = stored(records);
    links[4] = { ...links[4]!, envelope: forged };
    expect(verifyChain(links, want(key)).problems[0]).toMatch(/^seq 5: signed by sha256:[0-9a-f]{16}, which is neither the orchestrator's key nor a retired one/);
    const renamed = stored(records);
    renamed[2] = { ...renamed[2]!, key: 'receipt:run:9.9' };
    expect(verifyChain(renamed, want(key)).problems).toEqual(["seq 3: the store's key (receipt:run:9.9) differs from the signed one (receipt:run:1.1)"]);
  });

  it('names a removed link, two links swapped, and a chain cut at its end', () => {
    const key = generateSigningKey();
    const records = chainOf(key);
    const links = stored(records);
    expect(verifyChain([...links.slice(0, 2), ...links.slice(3)], want(key)).problems).toEqual(['seq 4: seq 3 missing before it']);
    const swapped = [...links];
    [swapped[1], swapped[2]] = [{ ...links[2]!, seq: 2 }, { ...links[1]!, seq: 3 }];
    expect(verifyChain(swapped, want(key)).problems).toEqual([
      "seq 2: the store's seq 2 holds the statement signed as seq 3: records swapped or renumbered",
      "seq 3: the store's seq 3 holds the statement signed as seq 2: records swapped or renumbered",
    ]);
    expect(verifyChain(links.slice(0, 4), want(key, { head: { seq: 6, digest: records[5]!.digest } })).problems).toEqual(['the chain is cut: the workflow wrote 6 link(s), the store has 4 (seq 5–6 missing)']);
    expect(verifyChain([], want(key)).problems).toEqual(['no signed evidence for this task']);
  });

  it('still verifies links signed by a key rotated out, listed in keys.retired; not when it is not listed', () => {
    const old = generateSigningKey();
    const current = generateSigningKey();
    const records = chainOf(current, artifacts(), [old, old, old]);
    expect(verifyChain(stored(records), { ...TASK, trusted: [current.publicKey, old.publicKey] }).ok).toBe(true);
    expect(verifyChain(stored(records), want(current)).problems[0]).toMatch(/^seq 1: signed by /);
  });

  it("checks the approver's own signature inside the approval against their configured key, and a Telegram relay against the orchestrator's", () => {
    const key = generateSigningKey();
    const alice = generateSigningKey();
    const claim = { channel: 'key' as const, taskId: TASK.taskId, headSha: HEAD, decision: 'approve' as const, at: '2026-01-01T00:59:00.000Z' };
    const signed = { channel: 'key', taskId: claim.taskId, headSha: HEAD, at: claim.at, signature: signText(alice, decisionMessage(claim)) };
    const good = chainOf(key, artifacts({ decision: 'approve', by: 'alice', at: claim.at, signed, channel: 'key' }));
    expect(verifyChain(stored(good), want(key, { approverKeys: { alice: alice.publicKey } })).ok).toBe(true);
    expect(verifyChain(stored(good), want(key, { approverKeys: {} })).notes).toEqual(expect.arrayContaining([expect.stringContaining('seq 6: alice signed the decision, but the configuration has no public key for them')]));
    const mallory = generateSigningKey();
    const forged = chainOf(key, artifacts({ decision: 'approve', by: 'alice', at: claim.at, signed: { ...signed, signature: signText(mallory, decisionMessage(claim)) }, channel: 'key' }));
    expect(verifyChain(stored(forged), want(key, { approverKeys: { alice: alice.publicKey } })).problems).toEqual(["seq 6: the approver alice's signature on the decision does not verify with their configured key"]);
    // A Telegram press, relayed: signed by the orchestrator's key for the user its bot saw.
    const press = { ...claim, channel: 'telegram' as const, telegramUserId: 42 };
    const relayed = { channel: 'telegram', taskId: claim.taskId, headSha: HEAD, at: claim.at, telegramUserId: 42, signature: signText(key, decisionMessage(press)) };
    expect(verifyChain(stored(chainOf(key, artifacts({ decision: 'approve', by: 'alice', at: claim.at, signed: relayed, channel: 'telegram' }))), want(key)).ok).toBe(true);
    const otherUser = { ...relayed, telegramUserId: 43 };
    expect(verifyChain(stored(chainOf(key, artifacts({ decision: 'approve', by: 'alice', at: claim.at, signed: otherUser, channel: 'telegram' }))), want(key)).problems).toEqual(["seq 6: the orchestrator's signature on alice's Telegram decision does not verify"]);
  });

  it('opens an envelope only with a trusted key', () => {
    const key = generateSigningKey();
    const envelope = chainOf(key)[0]!.envelope;
    expect(openEnvelope(envelope, [key.publicKey])).toMatchObject({ ok: true, keyId: key.keyId });
    expect(envelopeDigest(envelope)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('swarmflow verify --bundle, the CLI an auditor runs', () => {
  it('exits 0 on an intact bundle with the key given, 1 without the key or on a changed bundle, 2 on a malformed key', () => {
    const key = generateSigningKey();
    const records = chainOf(key);
    const bundle = join(tempDir('bundle'), 'bundle.json');
    writeBundle(bundle, toBundle({ ...TASK, links: stored(records), head: { seq: 6, digest: records[5]!.digest }, notes: [] }, [key.publicKey]));
    // A state folder with no orchestrator key: only what is given is trusted.
    const env = { ...process.env, SWARM_STATE_DIR: tempDir('auditor') };
    const ok = swarm(env, 'verify', '--bundle', bundle, '--key', key.publicKey);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toContain('verified: every signature, seq 1–6 contiguous');
    expect(ok.stdout).toContain(`ok   #5   verification gates      CI passed at ${HEAD.slice(0, 12)}: 2 check(s) (tests passed, lint passed) [${key.keyId}]`);
    expect(swarm(env, 'verify', '--bundle', bundle)).toMatchObject({ code: 1, stdout: expect.stringContaining("seq 1: signed by") });
    expect(swarm(env, 'verify', '--bundle', bundle, '--key', 'ed25519:nothex')).toMatchObject({ code: 2, stderr: expect.stringContaining('--key ed25519:nothex') });
    const doc = JSON.parse(readFileSync(bundle, 'utf8')) as { links: unknown[] };
    doc.links.splice(2, 1);
    writeBundle(bundle, doc as Parameters<typeof writeBundle>[1]);
    expect(swarm(env, 'verify', '--bundle', bundle, '--key', key.publicKey)).toMatchObject({ code: 1, stdout: expect.stringContaining('  - seq 4: seq 3 missing before it') });
  });
});

