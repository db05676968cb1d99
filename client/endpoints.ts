// Where the running stack is: explicit configuration first, then what `npm start` wrote to the
// state folder, then the embedded defaults.
import type { Config } from '../lib/config.ts';
import { readStackInfo, type StackInfo } from '../lib/stack-file.ts';

export interface Endpoints {
  temporalAddress: string;
  /** Undefined when neither DATABASE_URL nor a running embedded stack says where Postgres is. */
  databaseUrl?: string;
  stack?: StackInfo;
}

export function resolveEndpoints(config: Config): Endpoints {
  const stack = readStackInfo(config.stateDir);
  const { ip, port } = config.temporal.devServer;
  return {
    temporalAddress: config.temporal.address ?? stack?.temporal.address ?? `${ip}:${port}`,
    databaseUrl: config.database.url ?? stack?.database.url,
    stack,
  };
}
