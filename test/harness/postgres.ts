// A fresh Postgres database per suite, on the run's embedded server (or SWARM_TEST_DATABASE_URL).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool, type Db } from '../../activities/store/db.ts';
import { migrate } from '../../activities/store/migrate.ts';

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.SWARM_TEST_DATABASE_URL;
  if (!url) throw new Error('SWARM_TEST_DATABASE_URL is unset: run the tests through `npm test` (its global setup starts Postgres)');
  return url;
}

export async function freshDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  const name = `swarm_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = adminUrl().replace(/\/[^/]*$/, `/${name}`);
  const db = createPool(url);
  if (migrated) await migrate(db);
  return {
    url,
    db,
    async drop() {
      await db.end();
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
