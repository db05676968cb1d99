// Ed25519 over the decisions humans sign: pure JavaScript (@noble), so the task workflow checks a
// signature deterministically in its own sandbox (node:crypto is not there), in the handler that
// records a refusal. Keys are written `ed25519:<64 hex digits>` (the raw 32-byte public key);
// hex rather than base64 because the sandbox has no Buffer or atob and hex needs neither.
import { hashes, verify } from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { SignedDecision } from '../task/messages.ts';

hashes.sha512 = (message) => Uint8Array.from(sha512(message));

export const PUBLIC_KEY_PATTERN = /^ed25519:[0-9a-f]{64}$/;
const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

/** A key's id: `sha256:` and the first 16 hex digits of the SHA-256 of the raw public key (what an envelope names). */
export function keyIdOf(publicKey: string): string {
  return `sha256:${bytesToHex(sha256(hexToBytes(publicKey.slice('ed25519:'.length)))).slice(0, 16)}`;
}

/** Whether `signature` (128 hex digits) is `publicKey`'s over the UTF-8 of `message`; false for anything malformed. */
export function verifySignature(publicKey: string, message: string, signature: string): boolean {
  if (!PUBLIC_KEY_PATTERN.test(publicKey) || !SIGNATURE_PATTERN.test(signature)) return false;
  try {
    return verify(hexToBytes(signature), utf8ToBytes(message), hexToBytes(publicKey.slice('ed25519:'.length)));
  } catch {
    return false;
  }
}

/** What a human decides, bound to the task and to the PR head they saw. */
export interface DecisionClaim {
  taskId: string;
  headSha: string;
  decision: 'approve' | 'reject';
  /** When it was signed (ISO 8601). */
  at: string;
}

/**
 * The exact text signed for a decision: a domain tag (a signature over anything else never passes
 * for a decision), then the claim's fields in a fixed order. A decision relayed from Telegram also
 * names the Telegram user the bot saw press the button.
 */
export function decisionMessage(claim: DecisionClaim & { channel: 'key' | 'telegram'; telegramUserId?: number }): string {
  const { taskId, headSha, decision, at, channel, telegramUserId } = claim;
  return `swarmflow-decision/v1\n${JSON.stringify({ channel, taskId, headSha, decision, at, ...(channel === 'telegram' ? { telegramUserId } : {}) })}`;
}

/** The text a signed decision's signature is over, from the proof it travels with. */
export function signedDecisionMessage(decision: 'approve' | 'reject', s: Omit<SignedDecision, 'signature'>): string {
  return decisionMessage({ channel: s.channel, taskId: s.taskId, headSha: s.headSha, decision, at: s.at, ...(s.channel === 'telegram' ? { telegramUserId: s.telegramUserId } : {}) });
}

/** Whether `publicKey` signed this decision, as its proof claims it. */
export const decisionSignedBy = (publicKey: string, decision: 'approve' | 'reject', s: SignedDecision): boolean => verifySignature(publicKey, signedDecisionMessage(decision, s), s.signature);
