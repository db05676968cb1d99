// SwarmClient.connect with nothing answering: the error names the address it tried, where that
// address came from, and the fix, the same text for the CLI and for a service using the client.
import { describe, expect, it } from '@jest/globals';
import { SwarmClient, TemporalUnreachableError } from '../../client/swarm-client.ts';
import { loadConfig } from '../../lib/config.ts';
import { freePort } from '../../lib/ports.ts';
import { tempDir } from '../harness/paths.ts';

async function refusal(env: NodeJS.ProcessEnv, address?: string): Promise<TemporalUnreachableError> {
  const config = loadConfig({ env: { SWARM_STATE_DIR: tempDir('client-connect'), ...env } });
  const err: unknown = await SwarmClient.connect({ config, connectTimeoutMs: 1_000, ...(address ? { address } : {}) }).then(
    (client) => client.close().then(() => new Error('connected')),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TemporalUnreachableError);
  return err as TemporalUnreachableError;
}

/** Where the address comes from, and the configuration that makes it come from there. */
const SOURCES: Array<[string, (port: number) => { env: NodeJS.ProcessEnv; address?: string }]> = [
  ['TEMPORAL_ADDRESS', (port) => ({ env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` } })],
  ['the embedded default', (port) => ({ env: { SWARM_TEMPORAL_PORT: String(port) } })],
  ['the address given to SwarmClient.connect', (port) => ({ env: {}, address: `127.0.0.1:${port}` })],
];

describe('SwarmClient.connect with no server', () => {
  it.each(SOURCES)('names the address from %s and the fix', async (from, setup) => {
    const port = await freePort();
    const { env, address } = setup(port);
    const err = await refusal(env, address);
    expect(err.address).toBe(`127.0.0.1:${port}`);
    expect(err.message).toContain(`no Temporal server answers at 127.0.0.1:${port} (${from})`);
    expect(err.message).toContain('Start the stack with `npm start` in the swarmflow checkout, or set TEMPORAL_ADDRESS');
  });
});
