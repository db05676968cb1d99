// Connections to Temporal from the configuration: plain for the dev server, TLS and API key for a
// cluster or Temporal Cloud. Also registers the project's search attributes on a server we did
// not start (the dev server gets them as flags). Client-side only (the published client imports
// it): the workers' native connection takes the same options.
import { readFileSync } from 'node:fs';
import type { Connection, ConnectionOptions } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import type { Config } from './config.ts';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';

type Tls = NonNullable<ConnectionOptions['tls']>;

function tlsOptions(config: Config): Tls | undefined {
  const { tls, apiKey } = config.temporal;
  // An API key implies TLS (Temporal Cloud refuses plaintext).
  if (!tls.enabled && !apiKey) return undefined;
  const read = (path?: string) => (path ? readFileSync(path) : undefined);
  const cert = read(tls.clientCertPath);
  const key = read(tls.clientKeyPath);
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: read(tls.serverRootCaCertPath),
    clientCertPair: cert && key ? { crt: cert, key } : undefined,
  };
}

/** What a client Connection and the workers' NativeConnection both take (an API key as a string). */
export function connectionOptions(config: Config, address: string): Pick<ConnectionOptions, 'address' | 'tls'> & { apiKey?: string } {
  return { address, tls: tlsOptions(config), apiKey: config.temporal.apiKey };
}

/**
 * Registers the missing search attributes; those already there are left alone. Returns false when
 * the server will not have them (Temporal Cloud registers them through its own control plane; the
 * time-skipping test server has no operator service): tasks then run without them.
 */
export async function searchAttributesUsable(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await ensureSearchAttributes(connection, namespace);
    return true;
  } catch {
    return false;
  }
}

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.filter((k) => !known.has(k.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, encodeSearchAttributeIndexedValueType(k.type)!])),
  });
  return missing.map((k) => k.name);
}
