// The caller's own approver key, found the way `swarm approve` looks for it: SWARM_APPROVER_KEY
// (the PEM), SWARM_APPROVER_KEY_FILE, else `<approverKeyDir>/<name>.key` (where `swarm keys
// create <name>` writes it). It signs decisions on this machine (lib/keys.ts signDecision); only
// its public half is configured.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../lib/config.ts';
import { parseSigningKey, readPrivateKey, type SigningKey } from '../lib/keys.ts';

/** A file name for an approver's key: the name itself when it is a safe one, else none. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function approverKeyFile(config: Pick<Config, 'keys'>, name: string): string | undefined {
  return config.keys.approverKeyFile ?? (SAFE_NAME.test(name) ? join(config.keys.approverKeyDir, `${name}.key`) : undefined);
}

/** The key `name` signs with here, or undefined (and where it was looked for). */
export function findApproverKey(config: Pick<Config, 'keys'>, name: string): { key?: SigningKey; lookedIn: string } {
  if (config.keys.approverKey) return { key: parseSigningKey(config.keys.approverKey, 'SWARM_APPROVER_KEY'), lookedIn: 'SWARM_APPROVER_KEY' };
  const file = approverKeyFile(config, name);
  if (!file) return { lookedIn: `SWARM_APPROVER_KEY, SWARM_APPROVER_KEY_FILE (${JSON.stringify(name)} is not a file name)` };
  // A named file must exist; the default one may not (the caller then signs nothing).
  if (config.keys.approverKeyFile || existsSync(file)) return { key: readPrivateKey(file), lookedIn: file };
  return { lookedIn: `SWARM_APPROVER_KEY, SWARM_APPROVER_KEY_FILE and ${file}` };
}
