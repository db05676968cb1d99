// DSSE v1 envelopes (github.com/secure-systems-lab/dsse, envelope.md): the payload is signed over
// its Pre-Authentication Encoding, so neither the payload type nor the body can be swapped for
// another that happens to share the bytes. Ed25519 is deterministic: the same statement signed by
// the same key always gives the same envelope, which is what makes a retried activity harmless.
import { z } from 'zod';
import { signBytes, verifyBytes, type SigningKey } from '../../../lib/keys.ts';
import { keyIdOf } from '../../../workflows/policy/signatures.ts';
import { canonicalJson, sha256Of } from './canonical.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export const Envelope = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })).min(1),
});
export type Envelope = z.infer<typeof Envelope>;

/** `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in bytes. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

export function signEnvelope(statement: unknown, key: SigningKey): Envelope {
  const body = Buffer.from(canonicalJson(statement), 'utf8');
  const sig = signBytes(key, pae(IN_TOTO_PAYLOAD_TYPE, body));
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: body.toString('base64'), signatures: [{ keyid: key.keyId, sig: sig.toString('base64') }] };
}

/**
 * What a link of the chain names: the SHA-256 of the envelope's PAE, i.e. of exactly what was
 * signed. A signature added later (or the same statement re-signed by a rotated key) keeps it.
 */
export const envelopeDigest = (envelope: Envelope): string => sha256Of(pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')));

export type EnvelopeCheck = { ok: true; keyId: string; statement: unknown } | { ok: false; problem: string; statement?: unknown };

/** Checks the envelope's signatures against the trusted public keys (`ed25519:<hex>`); the statement when one verifies. */
export function openEnvelope(envelope: Envelope, trusted: readonly string[]): EnvelopeCheck {
  const body = Buffer.from(envelope.payload, 'base64');
  let statement: unknown;
  try {
    statement = JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return { ok: false, problem: 'its payload is not JSON' };
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { ok: false, problem: `its payload type is ${envelope.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}`, statement };
  const byId = new Map(trusted.map((k) => [keyIdOf(k), k]));
  const signed = pae(envelope.payloadType, body);
  const unknown: string[] = [];
  for (const { keyid, sig } of envelope.signatures) {
    const key = byId.get(keyid);
    if (!key) {
      unknown.push(keyid);
      continue;
    }
    if (verifyBytes(key, signed, Buffer.from(sig, 'base64'))) return { ok: true, keyId: keyid, statement };
    return { ok: false, problem: `bad signature by ${keyid}: the payload or the signature was changed`, statement };
  }
  return { ok: false, problem: `signed by ${unknown.join(', ')}, which is neither the orchestrator's key nor a retired one (keys.retired)`, statement };
}

