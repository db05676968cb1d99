// The typed client other services import. It connects from the same configuration as the
// workers; the task methods arrive with the pipeline.
import { Client, Connection } from '@temporalio/client';
import { hostQueue, loadConfig, type Config } from '../lib/config.ts';
import { connectionOptions } from '../lib/temporal.ts';
import { doctorRoundTrip, type RoundTrip } from '../workflows/doctor.ts';
import { resolveEndpoints, type Endpoints } from './endpoints.ts';

export interface ConnectOptions {
  config?: Config;
  /** Overrides the resolved Temporal address. */
  address?: string;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
}

export class SwarmClient {
  private constructor(
    readonly config: Config,
    readonly endpoints: Endpoints,
    readonly temporal: Client,
  ) {}

  static async connect({ config = loadConfig(), address, connectTimeoutMs = 5_000 }: ConnectOptions = {}): Promise<SwarmClient> {
    const endpoints = resolveEndpoints(config);
    if (address) endpoints.temporalAddress = address;
    const connection = await Connection.connect({ ...connectionOptions(config, endpoints.temporalAddress), connectTimeout: connectTimeoutMs });
    return new SwarmClient(config, endpoints, new Client({ connection, namespace: config.temporal.namespace }));
  }

  async close(): Promise<void> {
    await this.temporal.connection.close();
  }

  /** How many workers poll each of the project's task queues right now. */
  async pollers(): Promise<Array<{ taskQueue: string; kind: 'orchestration' | 'host'; pollers: number }>> {
    const queues = [
      { taskQueue: this.config.workers.orchestrationQueue, kind: 'orchestration' as const, type: 1 /* workflow tasks */ },
      { taskQueue: hostQueue(this.config), kind: 'host' as const, type: 2 /* activity tasks */ },
    ];
    return Promise.all(
      queues.map(async ({ taskQueue, kind, type }) => {
        const res = await this.temporal.workflowService.describeTaskQueue({
          namespace: this.config.temporal.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: type,
        });
        return { taskQueue, kind, pollers: res.pollers?.length ?? 0 };
      }),
    );
  }

  /** A workflow on the orchestration queue that queries Postgres and visits this host's queue. */
  async roundTrip(timeout = '20 seconds'): Promise<RoundTrip> {
    return this.temporal.workflow.execute(doctorRoundTrip, {
      taskQueue: this.config.workers.orchestrationQueue,
      workflowId: `doctor-${this.config.workers.hostId}-${Date.now()}`,
      args: [hostQueue(this.config)],
      workflowExecutionTimeout: timeout,
      staticSummary: 'swarm doctor: round trip through both workers and Postgres',
    });
  }
}
