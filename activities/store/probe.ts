import type { Db } from './db.ts';

/** A read that proves the activity reached the migrated database. */
export async function probeDatabase(db: Db): Promise<{ migrations: number; databaseTime: string }> {
  const { rows } = await db.query<{ n: string; now: Date }>('SELECT count(*) AS n, now() AS now FROM schema_migrations');
  return { migrations: Number(rows[0]!.n), databaseTime: rows[0]!.now.toISOString() };
}
