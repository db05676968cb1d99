// Canonical JSON (RFC 8785, JCS, for the values we sign: no floats needing ES number formatting
// beyond JSON.stringify's, which JCS adopts): object keys sorted by UTF-16 code units, no
// whitespace, `undefined` members dropped as JSON.stringify drops them. The same value always
// gives the same bytes, so its digest names it whatever order its keys were built in.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    // undefined, functions and symbols have no JSON: as members they are dropped (below); alone, null.
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const toJson = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJson === 'function') return canonicalJson(toJson.call(value));
  const members = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined && typeof (value as Record<string, unknown>)[k] !== 'function')
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${members.join(',')}}`;
}

/** `sha256:<hex>` of bytes or of a string's UTF-8. */
export const sha256Of = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
