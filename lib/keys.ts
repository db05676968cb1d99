// Ed25519 key pairs with node:crypto: an approver's (`swarm keys create`) and the orchestrator's
// (it signs the evidence chain and relays Telegram decisions). A private key is a PKCS#8 PEM in a
// 0600 file or an env var, never in the configuration; a public key is `ed25519:<hex>` (see
// workflows/policy/signatures.ts, which verifies inside the workflow).
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './config.ts';
import { keyIdOf, PUBLIC_KEY_PATTERN, signedDecisionMessage } from '../workflows/policy/signatures.ts';
import type { SignedDecision } from '../workflows/task/messages.ts';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: string;
  keyId: string;
}

/** The raw 32-byte public key as `ed25519:<hex>` (the SPKI DER of an Ed25519 key ends with it). */
function publicKeyText(key: KeyObject): string {
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return `ed25519:${der.subarray(der.length - 32).toString('hex')}`;
}

function signingKey(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the key is ${privateKey.asymmetricKeyType ?? 'not an asymmetric key'}, not Ed25519`);
  const publicKey = publicKeyText(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

export function generateSigningKey(): SigningKey & { privateKeyPem: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { ...signingKey(privateKey), privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

/** A key from its PEM text; the error says what is wrong with it. */
export function parseSigningKey(pem: string, source: string): SigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${source} is not a PKCS#8 PEM private key (${err instanceof Error ? err.message : String(err)}); create one with: swarm keys create <name>`, { cause: err });
  }
  try {
    return signingKey(key);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes a private key 0600 in a 0700 folder; never over an existing file (a key is not replaced by accident). */
export function writePrivateKey(path: string, pem: string): void {
  if (existsSync(path)) throw new Error(`${path} exists already: a key is never overwritten; remove it first or choose another --out`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/** Reads a private key file, refused (like ssh does) when others may read it. */
export function readPrivateKey(path: string): SigningKey {
  if (!existsSync(path)) throw new Error(`no key at ${path}; create one with: swarm keys create <name>`);
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new Error(`${path} is readable by others (mode ${mode.toString(8)}): run chmod 600 ${path}`);
  return parseSigningKey(readFileSync(path, 'utf8'), path);
}

/** The signature (128 hex digits) of `message`'s UTF-8 bytes. */
export function signText(key: SigningKey, message: string): string {
  return sign(null, Buffer.from(message, 'utf8'), key.privateKey).toString('hex');
}

/**
 * A decision's proof: the approver's own signature (channel `key`, the default), or the
 * orchestrator's over a Telegram press it relays (channel `telegram`, with the presser's id).
 */
export function signDecision(
  key: SigningKey,
  claim: { taskId: string; headSha: string; decision: 'approve' | 'reject'; at?: string; channel?: 'key' | 'telegram'; telegramUserId?: number },
): SignedDecision {
  const { decision, channel = 'key', ...rest } = claim;
  const proof = { ...rest, channel, at: claim.at ?? new Date().toISOString() };
  return { ...proof, signature: signText(key, signedDecisionMessage(decision, proof)) };
}

/** A signature over raw bytes, as bytes (DSSE envelopes carry it base64). */
export function signBytes(key: SigningKey, data: Buffer): Buffer {
  return sign(null, data, key.privateKey);
}

// Parsing a key costs as much as the check itself: a chain's links are checked against a few keys.
const publicKeyObjects = new Map<string, KeyObject>();

function publicKeyObject(publicKey: string): KeyObject {
  let key = publicKeyObjects.get(publicKey);
  if (!key) {
    const raw = Buffer.from(publicKey.slice('ed25519:'.length), 'hex');
    // SPKI DER prefix of an Ed25519 public key (RFC 8410), then the raw 32 bytes.
    key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
    if (publicKeyObjects.size > 100) publicKeyObjects.clear();
    publicKeyObjects.set(publicKey, key);
  }
  return key;
}

/** Whether `signature` is `publicKey`'s over `data`. */
export function verifyBytes(publicKey: string, data: Buffer, signature: Buffer): boolean {
  if (!PUBLIC_KEY_PATTERN.test(publicKey)) return false;
  try {
    return verify(null, data, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** The orchestrator's key file when the configuration names none. */
export const orchestratorKeyFile = (config: Pick<Config, 'stateDir' | 'keys'>) => config.keys.orchestratorKeyFile ?? join(config.stateDir, 'keys', 'orchestrator.key');

/**
 * The orchestrator's signing key: SWARM_ORCHESTRATOR_KEY's PEM, else its file, created (0600) on
 * first use so that a fresh clone signs from its first task. Only the worker's own activities hold it.
 */
export function orchestratorKey(config: Pick<Config, 'stateDir' | 'keys'>): SigningKey {
  if (config.keys.orchestratorKey) return parseSigningKey(config.keys.orchestratorKey, 'SWARM_ORCHESTRATOR_KEY');
  const file = orchestratorKeyFile(config);
  if (!existsSync(file)) {
    try {
      writePrivateKey(file, generateSigningKey().privateKeyPem);
    } catch (err) {
      // Another process of this host created it first.
      if (!existsSync(file)) throw err;
    }
  }
  return readPrivateKey(file);
}
