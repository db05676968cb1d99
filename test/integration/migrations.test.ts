import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listMigrations, migrate } from '../../activities/store/migrate.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

describe('migrations', () => {
  it('apply once, then re-apply as a no-op', async () => {
    database = await freshDatabase({ migrated: false });
    const all = listMigrations().map((m) => m.version);
    expect(all.length).toBeGreaterThan(0);

    expect(await migrate(database.db)).toEqual({ applied: all, alreadyApplied: [] });
    expect(await migrate(database.db)).toEqual({ applied: [], alreadyApplied: all });
    const { rows } = await database.db.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(rows[0]!.n)).toBe(all.length);
    // The schema is really there.
    await database.db.query(`INSERT INTO artifacts (task_id, key, kind, step, payload) VALUES ('t', 'k', 'intent', 'intake', '{}')`);
  });

  it('apply exactly once when two processes migrate at the same time', async () => {
    database = await freshDatabase({ migrated: false });
    const [a, b] = await Promise.all([migrate(database.db), migrate(database.db)]);
    expect([...a.applied, ...b.applied].sort()).toEqual(listMigrations().map((m) => m.version));
  });

  it('refuse an applied migration that was edited, and roll back a failing one', async () => {
    database = await freshDatabase({ migrated: false });
    const dir = tempDir('migrations');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '001_first.sql'), 'CREATE TABLE first (id int);');
    await migrate(database.db, listMigrations(dir));

    writeFileSync(join(dir, '001_first.sql'), 'CREATE TABLE first (id bigint);');
    await expect(migrate(database.db, listMigrations(dir))).rejects.toThrow('migration 001_first was edited after it was applied; add a new migration instead');

    writeFileSync(join(dir, '001_first.sql'), 'CREATE TABLE first (id int);');
    writeFileSync(join(dir, '002_broken.sql'), 'CREATE TABLE second (id int); SELECT nope FROM nowhere;');
    await expect(migrate(database.db, listMigrations(dir))).rejects.toThrow(/migration 002_broken failed: relation "nowhere" does not exist/);
    const { rows } = await database.db.query(`SELECT to_regclass('second') AS t`);
    expect(rows[0]).toEqual({ t: null });
  });
});
