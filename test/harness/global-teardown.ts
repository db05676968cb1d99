export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __swarmPostgres?: { stop(): Promise<void> } }).__swarmPostgres?.stop();
}
