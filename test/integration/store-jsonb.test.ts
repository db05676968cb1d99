// What outsiders write (an agent's or a CI command's output, a model's reply) can hold a NUL or a
// lone surrogate, which Postgres jsonb refuses: a refused artifact would be retried forever and the
// task would never leave that step. Real Postgres.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listArtifacts, recordArtifact } from '../../activities/store/artifacts.ts';
import { jsonb } from '../../activities/store/jsonb.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const HOSTILE = { log: 'before\u0000after', lone: 'high \ud800 low \udc00 end', pair: 'emoji 😀 kept', nested: [{ tail: '\u0000' }] };

describe('artifacts in jsonb', () => {
  it('Postgres refuses the raw JSON (what recordArtifact used to send)', async () => {
    await expect(database.db.query('SELECT $1::jsonb', [JSON.stringify({ log: HOSTILE.log })])).rejects.toThrow(/unsupported Unicode escape sequence/);
    await expect(database.db.query('SELECT $1::jsonb', [JSON.stringify({ lone: HOSTILE.lone })])).rejects.toThrow(/invalid input syntax for type json/);
  });

  it('records an artifact holding a NUL and lone surrogates, each replaced by U+FFFD, the rest verbatim', async () => {
    expect(await recordArtifact(database.db, { taskId: 'hostile', key: 'receipt:spawn:1', kind: 'receipt', step: 'spawn', payload: HOSTILE })).toEqual({ recorded: true });
    const [stored] = await listArtifacts(database.db, 'hostile');
    expect(stored!.payload).toEqual({ log: 'before\ufffdafter', lone: 'high \ufffd low \ufffd end', pair: 'emoji 😀 kept', nested: [{ tail: '\ufffd' }] });
  });

  it('leaves well-formed text alone', () => {
    const text = { a: 'tab\tline\nquote" backslash\\ 😀 \u001b[31m' };
    expect(jsonb(text)).toBe(JSON.stringify(text));
  });
});
