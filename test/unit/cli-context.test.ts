// `swarm context`: add (text or a markdown file), import (a folder, an Obsidian vault as it is),
// list and show, on a real Postgres through DATABASE_URL, as a user runs the built CLI; bad input
// exits 2 with what to fix and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';
import { swarm } from '../harness/stack-process.ts';

let database: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  database = await freshDatabase();
  env = { PATH: process.env.PATH, HOME: tempDir('home'), SWARM_STATE_DIR: tempDir('state'), DATABASE_URL: database.url };
});
afterAll(async () => {
  await database?.drop();
});

const ids = (stdout: string) => [...stdout.matchAll(/^\w+\s+(note-[0-9a-f]{12})/gm)].map((m) => m[1]!);

describe('swarm context', () => {
  it('adds a note from --text or a markdown file, the same one again changes nothing, and shows it', () => {
    const added = swarm(env, 'context', 'add', '--text', 'Refunds go through the ledger service, never straight to the provider.', '--title', 'Refunds via the ledger', '--kind', 'decision', '--repo', 'acme/billing', '--paths', 'src/refunds/,src/ledger.ts', '--tags', 'billing', '--sensitivity', 'internal', '--author', 'dana');
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toMatch(/^added {5}note-[0-9a-f]{12} {2}Refunds via the ledger\n1 note\(s\): 1 added, 0 updated, 0 unchanged\n$/);
    const [id] = ids(added.stdout);
    expect(swarm(env, 'context', 'add', '--text', 'Refunds go through the ledger service, never straight to the provider.', '--title', 'Refunds via the ledger', '--kind', 'decision', '--repo', 'acme/billing', '--paths', 'src/refunds/,src/ledger.ts', '--tags', 'billing', '--sensitivity', 'internal', '--author', 'dana').stdout).toContain(`unchanged ${id}`);

    const shown = swarm(env, 'context', 'show', id!, '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, kind: 'decision', repository: 'acme/billing', paths: ['src/refunds/', 'src/ledger.ts'], tags: ['billing'], author: 'dana', sensitivity: 'internal' });

    const file = join(tempDir('notes'), 'globex.md');
    writeFileSync(file, '---\nkind: customer\ncustomer: Globex\nsensitivity: restricted\nconstraint: Never refund more than the charge.\n---\n# Globex escalation\nJane (jane@globex.example) was refunded twice.\n');
    const fromFile = swarm(env, 'context', 'add', file, '--repo', 'acme/billing');
    expect(fromFile.code).toBe(0);
    const [fileId] = ids(fromFile.stdout);
    writeFileSync(file, '---\nkind: customer\ncustomer: Globex\nsensitivity: restricted\nconstraint: Never refund more than the charge.\n---\n# Globex escalation\nJane was refunded twice; resolved.\n');
    expect(swarm(env, 'context', 'add', file, '--repo', 'acme/billing').stdout).toContain(`updated   ${fileId}  Globex escalation`);
    const text = swarm(env, 'context', 'show', fileId!).stdout;
    expect(text).toContain('kind customer, restricted');
    expect(text).toContain('constraint (what agents get instead of the text when it is above their tier): Never refund more than the charge.');
    expect(text).toContain('Jane was refunded twice; resolved.');
  });

  it('imports an Obsidian vault as it is, again without duplicates, and lists notes by repository', () => {
    const root = join(tempDir('vault'), 'team-vault');
    mkdirSync(join(root, '.obsidian'), { recursive: true });
    mkdirSync(join(root, 'meetings'), { recursive: true });
    writeFileSync(join(root, '.obsidian', 'app.md'), 'settings, not a note');
    writeFileSync(join(root, 'meetings', '2026-03-02 sync.md'), '# Sync with Initech\nThey need CSV export. See [[Initech]].\n#export');
    writeFileSync(join(root, 'Initech.md'), '---\nkind: customer\n---\nInitech, a long-standing customer.');
    const first = swarm(env, 'context', 'import', root, '--repo', 'acme/shop', '--sensitivity', 'internal');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('2 note(s): 2 added, 0 updated, 0 unchanged');
    expect(first.stdout).toContain('(team-vault/meetings/2026-03-02 sync.md)');
    expect(swarm(env, 'context', 'import', root, '--repo', 'acme/shop', '--sensitivity', 'internal').stdout).toContain('2 note(s): 0 added, 0 updated, 2 unchanged');

    const shop = JSON.parse(swarm(env, 'context', 'list', '--repo', 'acme/shop', '--json').stdout) as Array<{ title: string; repository?: string; kind: string; links: string[] }>;
    expect(shop.map((n) => [n.title, n.kind]).sort()).toEqual([
      ['Initech', 'customer'],
      ['Sync with Initech', 'meeting'],
    ]);
    expect(shop.find((n) => n.kind === 'meeting')!.links).toEqual(['Initech']);
    const everything = swarm(env, 'context', 'list').stdout;
    expect(everything).toContain('Refunds via the ledger  [acme/billing]');
    expect(everything).toContain('Sync with Initech  [acme/shop]');
  });

  it('refuses what it cannot save with exit 2 and what to fix, writing nothing; exit 1 for a note that is not there', () => {
    const root = join(tempDir('vault'), 'broken');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'good.md'), '---\nkind: decision\n---\nfine');
    writeFileSync(join(root, 'loose.md'), 'no kind at all');
    const before = swarm(env, 'context', 'list', '--json').stdout;
    const broken = swarm(env, 'context', 'import', root);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('(nothing was imported)');
    expect(broken.stderr).toContain('loose.md: kind: one of customer, meeting, incident, decision, failure: pass --kind');
    expect(swarm(env, 'context', 'list', '--json').stdout).toBe(before);

    expect(swarm(env, 'context', 'add', '--text', 'x', '--kind', 'gossip')).toMatchObject({ code: 2, stderr: expect.stringContaining('kind: one of customer') });
    expect(swarm(env, 'context', 'add', '--text', 'x', '--kind', 'decision', '--sensitivity', 'secret')).toMatchObject({ code: 2, stderr: expect.stringContaining('sensitivity: one of internal < confidential < restricted') });
    expect(swarm(env, 'context', 'add')).toMatchObject({ code: 2, stderr: expect.stringContaining('give either a markdown file or --text') });
    expect(swarm(env, 'context', 'show', 'note-000000000000')).toMatchObject({ code: 1, stderr: 'swarmflow: no note note-000000000000 (the ids are in: swarmflow context list)\n' });
    expect(swarm({ ...env, DATABASE_URL: '' }, 'context', 'list')).toMatchObject({ code: 1, stderr: expect.stringContaining('no database: set DATABASE_URL') });
  });
});
