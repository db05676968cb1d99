// Tasks survive a restart of the embedded Temporal: the dev server keeps its state in a file.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../lib/config.ts';
import { SwarmLogger } from '../../lib/logger.ts';
import { freePort } from '../../lib/ports.ts';
import { startDevServer, type DevServer } from '../../workers/temporal-dev-server.ts';
import { createHostWorker, createOrchestrationWorker } from '../../workers/workers.ts';
import { doctorRoundTrip } from '../../workflows/doctor.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';
import { workflowBundle } from '../harness/temporal.ts';

const logger = new SwarmLogger({ level: 'WARN' });
let server: DevServer | undefined;
let database: TestDatabase | undefined;
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe('embedded dev server', () => {
  it('keeps a running workflow across a restart on the same state file, and it completes', async () => {
    const dbFilename = join(tempDir('devserver'), 'temporal.db');
    const port = await freePort();
    const config = loadConfig({ env: { SWARM_HOST_ID: 'persist-test', SWARM_ORCHESTRATION_QUEUE: 'persist-orchestration' } });

    server = await startDevServer({ dbFilename, port, headless: true, logger });
    let connection = await Connection.connect({ address: server.address });
    // No worker yet: the workflow waits on its task queue.
    const handle = await new Client({ connection }).workflow.start(doctorRoundTrip, {
      taskQueue: config.workers.orchestrationQueue,
      workflowId: 'persisted-across-restart',
      args: ['swarm-host-persist-test'],
    });
    await connection.close();
    await server.stop();

    server = await startDevServer({ dbFilename, port, headless: true, logger });
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const described = await client.workflow.getHandle(handle.workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.runId).toBe(handle.firstExecutionRunId);

    database = await freshDatabase();
    const native = await NativeConnection.connect({ address: server.address });
    const workers = [
      await createOrchestrationWorker({ connection: native, config, db: database.db, logger, workflowBundle }),
      await createHostWorker({ connection: native, config, db: database.db }),
    ];
    const [orchestration, host] = workers as [(typeof workers)[0], (typeof workers)[0]];
    const result = await orchestration.runUntil(host.runUntil(client.workflow.getHandle<typeof doctorRoundTrip>(handle.workflowId).result()));
    expect(result.migrations).toBeGreaterThan(0);
    expect(result.host.hostId).toBe('persist-test');
    await native.close();
    await connection.close();
  });

  it('refuses a port that is taken, naming it and the env var that moves it', async () => {
    const dbFilename = join(tempDir('devserver-port'), 'temporal.db');
    await expect(startDevServer({ dbFilename, port: await freePort(), uiPort: Number(server!.address.split(':')[1]), logger })).rejects.toThrow(
      /port \d+ \(Temporal Web UI\) is already in use.*SWARM_TEMPORAL_UI_PORT=<port>/s,
    );
  });
});
