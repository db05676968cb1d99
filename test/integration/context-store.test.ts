// The vault on a real Postgres: keyed writes (import again = update, never a duplicate), and the
// selection for a prompt: deterministic (same inputs, same notes, same order), ordered by scope,
// rank, age and id, bounded by the budget in whole notes, and never past the execution tier.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVault, saveNotes } from '../../activities/store/context/import.ts';
import { getNote, listNotes, selectNotes, upsertNote } from '../../activities/store/context/store.ts';
import { parseNote, tokensOf, type ContextQuery, type NoteInput } from '../../workflows/context/notes.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const note = (n: Partial<NoteInput> & Pick<NoteInput, 'title' | 'body'>) => parseNote({ kind: 'decision', sensitivity: 'internal', ...n });

const query = (extra: Partial<ContextQuery> = {}): ContextQuery => ({
  taskId: 'refund-retry',
  repository: 'acme/billing',
  title: 'Retry failed refunds',
  description: 'Refunds that fail at the payment provider must be retried with backoff.',
  criteria: ['a failed refund is retried three times'],
  paths: ['src/refunds/retry.ts'],
  agent: 'codex',
  ...extra,
});

describe('context notes in Postgres', () => {
  it('the same source or the same text is the same note: updated when it changed, else left alone', async () => {
    const db = database.db;
    const first = await upsertNote(db, note({ title: 'Ledger is append-only', body: 'Never update ledger rows.', source: 'v/ledger.md' }));
    expect(first.outcome).toBe('added');
    expect(await upsertNote(db, note({ title: 'Ledger is append-only', body: 'Never update ledger rows.', source: 'v/ledger.md' }))).toEqual({ id: first.id, outcome: 'unchanged' });
    expect(await upsertNote(db, note({ title: 'Ledger is append-only', body: 'Never update or delete ledger rows.', source: 'v/ledger.md' }))).toEqual({ id: first.id, outcome: 'updated' });
    expect((await getNote(db, first.id))?.body).toBe('Never update or delete ledger rows.');
    const text = note({ title: 'Use UTC', body: 'All timestamps are UTC.' });
    const a = await upsertNote(db, text);
    expect(await upsertNote(db, text)).toEqual({ id: a.id, outcome: 'unchanged' });
  });

  it('importing a folder again adds nothing twice, and updates the note whose file changed', async () => {
    const root = join(tempDir('vault'), 'ops-vault');
    mkdirSync(join(root, 'incidents'), { recursive: true });
    writeFileSync(join(root, 'incidents', 'outage.md'), '# Queue outage\nThe queue filled up.\n#internal');
    writeFileSync(join(root, 'incidents', 'pager.md'), '# Pager rota\nWho is on call.\n#internal');
    const before = (await listNotes(database.db)).length;
    expect((await saveNotes(database.db, readVault(root))).notes.map((n) => n.outcome)).toEqual(['added', 'added']);
    expect((await saveNotes(database.db, readVault(root))).notes.map((n) => n.outcome)).toEqual(['unchanged', 'unchanged']);
    writeFileSync(join(root, 'incidents', 'pager.md'), '# Pager rota\nWho is on call, and their backup.\n#internal');
    expect((await saveNotes(database.db, readVault(root))).notes.map((n) => n.outcome)).toEqual(['unchanged', 'updated']);
    expect((await listNotes(database.db)).length).toBe(before + 2);
  });
});

describe('selection for a prompt', () => {
  let db: TestDatabase;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    db = await freshDatabase();
    const add = async (name: string, n: Parameters<typeof note>[0]) => (ids[name] = (await upsertNote(db.db, note({ source: `v/${name}.md`, ...n }))).id);
    await add('paths', { title: 'Refund module layout', body: 'The retry loop lives beside the provider client.', repository: 'acme/billing', paths: ['src/refunds/'], created: '2026-01-01T00:00:00Z' });
    await add('repo', { title: 'Refunds retry policy', body: 'Refunds are retried with exponential backoff, at most three times.', repository: 'acme/billing', created: '2026-01-02T00:00:00Z' });
    await add('global-old', { title: 'Payment provider refunds', body: 'The payment provider rate-limits refunds.', created: '2025-06-01T00:00:00Z' });
    await add('global-new', { title: 'Payment provider refunds', body: 'The payment provider rate-limits refunds.', created: '2025-07-01T00:00:00Z' });
    // Same words, same time: the id decides.
    await add('twin-a', { title: 'Backoff jitter', body: 'Retry backoff carries jitter.', created: '2025-01-01T00:00:00Z' });
    await add('twin-b', { title: 'Backoff jitter', body: 'Retry backoff carries jitter.', created: '2025-01-01T00:00:00Z' });
    await add('other-repo', { title: 'Refunds in the shop', body: 'The shop retries refunds differently.', repository: 'acme/shop' });
    await add('unrelated', { title: 'Office plants', body: 'Water them on Mondays.' });
    await add('restricted', {
      kind: 'customer',
      title: 'Globex refund complaint (jane.doe@globex.example)',
      body: 'Jane Doe (jane.doe@globex.example) was refunded twice; retries must not double-refund.',
      sensitivity: 'restricted',
      constraint: 'A refund retry must be idempotent: never refund the same payment twice.',
      repository: 'acme/billing',
    });
    await add('restricted-bare', { kind: 'incident', title: 'Refund retry incident, prod DB host db-7.internal', body: 'Retries failed against db-7.internal.', sensitivity: 'confidential' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is deterministic: scope matches first, then rank, then newest, then id; other repositories and unrelated notes left out', async () => {
    const chosen = await selectNotes(db.db, query(), { tier: 'internal', budgetTokens: 10_000 });
    expect(await selectNotes(db.db, query(), { tier: 'internal', budgetTokens: 10_000 })).toEqual(chosen);
    const order = chosen.notes.map((n) => Object.entries(ids).find(([, id]) => id === n.id)![0]);
    // Scope first (repository and paths, then repository), then by rank, newest and id among equals.
    expect(order.slice(0, 1)).toEqual(['paths']);
    expect(new Set(order.slice(1, 3))).toEqual(new Set(['repo', 'restricted']));
    const rest = order.slice(3);
    expect(rest.indexOf('global-new')).toBeLessThan(rest.indexOf('global-old'));
    const [twinFirst, twinSecond] = [ids['twin-a']!, ids['twin-b']!].sort();
    expect(chosen.notes.findIndex((n) => n.id === twinFirst)).toBeLessThan(chosen.notes.findIndex((n) => n.id === twinSecond));
    expect(order).not.toContain('other-repo');
    expect(order).not.toContain('unrelated');
    expect(chosen.notes[0]).toMatchObject({ as: 'note', why: { scope: ['repository', 'paths'] } });
    expect(chosen.notes.find((n) => n.id === ids.repo)!.why.terms).toEqual(expect.arrayContaining(['refund', 'retri']));
    // Ordered by scope, then rank descending within a scope.
    const unscoped = chosen.notes.filter((n) => n.why.scope.length === 0).map((n) => n.why.rank);
    expect(unscoped).toEqual([...unscoped].sort((a, b) => b - a));
  });

  it('passes on only the constraint of a note above the tier, and withholds one with none', async () => {
    const chosen = await selectNotes(db.db, query(), { tier: 'internal', budgetTokens: 10_000 });
    const restricted = chosen.notes.find((n) => n.id === ids.restricted)!;
    expect(restricted).toMatchObject({ as: 'constraint', kind: 'customer', title: 'a restricted customer note', text: 'A refund retry must be idempotent: never refund the same payment twice.' });
    expect(JSON.stringify(chosen)).not.toContain('globex.example');
    expect(JSON.stringify(chosen)).not.toContain('db-7');
    expect(chosen.withheld).toEqual([ids['restricted-bare']]);
    // A tier that may see restricted notes gets the text itself.
    const trusted = await selectNotes(db.db, query(), { tier: 'restricted', budgetTokens: 10_000 });
    expect(trusted.notes.find((n) => n.id === ids.restricted)).toMatchObject({ as: 'note', text: expect.stringContaining('jane.doe@globex.example') });
    expect(trusted.withheld).toEqual([]);
  });

  it('fills the budget with whole notes only, in order, and says what it used', async () => {
    const all = await selectNotes(db.db, query(), { tier: 'internal', budgetTokens: 10_000 });
    for (const n of all.notes) expect(n.tokens).toBe(tokensOf(`${n.title}\n${n.text}`));
    const budget = all.notes[0]!.tokens + all.notes[1]!.tokens + 1;
    const small = await selectNotes(db.db, query(), { tier: 'internal', budgetTokens: budget });
    expect(small.usedTokens).toBeLessThanOrEqual(budget);
    expect(small.usedTokens).toBe(small.notes.reduce((sum, n) => sum + n.tokens, 0));
    expect(small.notes.slice(0, 2).map((n) => n.id)).toEqual(all.notes.slice(0, 2).map((n) => n.id));
    // Every note it took is one the larger budget took, in the same order, whole.
    const positions = small.notes.map((n) => all.notes.findIndex((m) => m.id === n.id && m.text === n.text));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect((await selectNotes(db.db, query(), { tier: 'internal', budgetTokens: 0 })).notes).toEqual([]);
  });

  it('finds nothing for a task whose words no note holds, outside any note path', async () => {
    const none = await selectNotes(db.db, query({ title: 'Rename the logo file', description: 'Rename logo.svg.', criteria: ['the file is renamed'], paths: ['assets/logo.svg'] }), { tier: 'internal', budgetTokens: 1500 });
    expect(none).toEqual({ tier: 'internal', budgetTokens: 1500, usedTokens: 0, notes: [], withheld: [] });
  });
});

describe('selection among many withheld notes', () => {
  it('does not let notes it must withhold crowd out the ones it may pass on, and names at most 20 of them', async () => {
    const db = await freshDatabase();
    try {
      for (let i = 0; i < 230; i++) await upsertNote(db.db, note({ kind: 'customer', title: `Refund retry complaint ${i}`, body: 'Refund retry refund retry backoff.', repository: 'acme/billing', sensitivity: 'restricted', source: `v/c${i}.md` }));
      const usable = await upsertNote(db.db, note({ title: 'Refund notes', body: 'Refunds are retried by the worker.', source: 'v/usable.md', created: '2020-01-01T00:00:00Z' }));
      const chosen = await selectNotes(db.db, query(), { tier: 'internal', budgetTokens: 1500 });
      expect(chosen.notes.map((n) => n.id)).toEqual([usable.id]);
      expect(chosen.withheld).toHaveLength(20);
    } finally {
      await db.drop();
    }
  });
});
