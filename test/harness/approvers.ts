// Approvers with real Ed25519 keys for tests: each name gets a key pair once per test process,
// its private key in a 0600 file under one folder (SWARM_APPROVER_KEY_DIR), its public key in
// SWARM_APPROVERS, so the client signs decisions exactly as `swarm approve` does.
import { join } from 'node:path';
import { generateSigningKey, writePrivateKey, type SigningKey } from '../../lib/keys.ts';
import type { Approver } from '../../lib/config.ts';
import { tempDir } from './paths.ts';

let keyDir: string | undefined;
const keys = new Map<string, SigningKey>();

/** `name`'s key, created (and written to the key folder) on first use. */
export function approverKey(name: string): SigningKey {
  keyDir ??= tempDir('approver-keys');
  let key = keys.get(name);
  if (!key) {
    const created = generateSigningKey();
    writePrivateKey(join(keyDir, `${name}.key`), created.privateKeyPem);
    key = created;
    keys.set(name, key);
  }
  return key;
}

/** The env that configures these approvers and where their keys are: a name gets its key; an entry is taken as written. */
export function approversEnv(approvers: Array<string | Approver>): { SWARM_APPROVERS: string; SWARM_APPROVER_KEY_DIR: string } {
  const list = approvers.map((a) => (typeof a === 'string' ? { name: a, publicKey: approverKey(a).publicKey } : a));
  keyDir ??= tempDir('approver-keys');
  return { SWARM_APPROVERS: JSON.stringify(list), SWARM_APPROVER_KEY_DIR: keyDir };
}
