// The Postgres pool, and the one place that turns connection failures into a clear message.
import pg from 'pg';
import { redactUrl } from '../../lib/config.ts';

export type Db = pg.Pool;

export function createPool(url: string, max = 5): Db {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

export class DatabaseUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach Postgres at ${redactUrl(url)}: ${(cause as Error).message ?? String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** Runs `select 1`; throws DatabaseUnavailableError naming the (redacted) URL. */
export async function ping(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new DatabaseUnavailableError(url, err);
  } finally {
    await client.end().catch(() => undefined);
  }
}
