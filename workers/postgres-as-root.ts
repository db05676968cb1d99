// Postgres refuses to run as root, so as root it runs as the `postgres` system user, who must
// reach its binaries and data dir. A clone under a private folder (root's home is 0700, so is any
// `mktemp -d`) is out of that user's reach: what it cannot reach is staged under STAGING_ROOT,
// whose folders it can traverse. As any other user, Postgres runs as that user, from where it is.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Root-owned and persistent (/var/tmp and /tmp are cleaned of old files; a database must not be). */
export const STAGING_ROOT = '/var/lib/swarmflow';

export interface RunAs {
  uid: number;
  gid: number;
}

/** The `postgres` system user's ids when we are root (created if missing), else undefined. */
export function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Whether `user` may traverse every folder from / down to `path` (mode bits; ACLs not consulted). */
export function reachable(path: string, user: RunAs): boolean {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      const { uid, gid, mode } = statSync(dir);
      const bit = uid === user.uid ? 0o100 : gid === user.gid ? 0o010 : 0o001;
      if (!(mode & bit)) return false;
    }
    if (dir === dirname(dir)) return true;
  }
}

function stagingRoot(): string {
  mkdirSync(STAGING_ROOT, { recursive: true });
  chmodSync(STAGING_ROOT, 0o711);
  return STAGING_ROOT;
}

/**
 * The package's `native` folder (bin, lib, share: Postgres finds them relative to its binary), or
 * a copy of it under the staging root, once per package version, made atomically.
 */
export function reachableBinaries(nativeDir: string, version: string, user: RunAs): string {
  if (reachable(join(nativeDir, 'bin'), user)) return nativeDir;
  const staged = join(stagingRoot(), `postgres-${version}`);
  if (existsSync(join(staged, 'bin', 'postgres'))) return staged;
  const partial = `${staged}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
  chmodSync(partial, 0o755);
  try {
    renameSync(partial, staged);
  } catch (err) {
    // Another start staged the same version first.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(join(staged, 'bin', 'postgres'))) throw err;
  }
  return staged;
}

/**
 * Where Postgres keeps the data of `dataDir`: that folder itself when the user can reach it, else
 * a folder under the staging root keyed by a hash of its path, with `dataDir` a symlink to it
 * (so the state folder still shows where the data is).
 */
export function reachableDataDir(dataDir: string, user: RunAs): string {
  const wanted = resolve(dataDir);
  if (reachable(dirname(wanted), user)) return wanted;
  const staged = join(stagingRoot(), `data-${createHash('sha256').update(wanted).digest('hex').slice(0, 16)}`);
  const link = lstatSync(wanted, { throwIfNoEntry: false });
  if (link?.isSymbolicLink()) {
    // Linked by an earlier start (perhaps from where the clone was before it moved) or by the operator.
    const target = resolve(dirname(wanted), readlinkSync(wanted));
    if (reachable(dirname(target), user) && existsSync(join(target, 'PG_VERSION'))) return target;
  }
  if (link && existsSync(join(wanted, 'PG_VERSION'))) {
    throw new Error(`${wanted} holds a Postgres database the postgres user cannot reach (a folder above it is private): make its parents traversable (chmod o+x), or move it to ${staged} and link it there`);
  }
  rmSync(wanted, { recursive: true, force: true });
  mkdirSync(dirname(wanted), { recursive: true });
  symlinkSync(staged, wanted);
  return staged;
}
