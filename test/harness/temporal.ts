// Temporal for tests, always a real server: the time-skipping test server for workflow logic,
// the dev server (ephemeral port, temp state file) for integration.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { fairnessArgs, requireTool } from '../../workers/temporal-dev-server.ts';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import { freePort } from '../../lib/ports.ts';
import { bundlePath } from './paths.ts';

/**
 * The SDK gives a server 5 s to answer (fixed in sdk-core), which a loaded 2-core machine can
 * miss while other suites start CLIs and servers: a start that timed out is tried again, twice.
 */
async function startServer(start: () => Promise<TestWorkflowEnvironment>): Promise<TestWorkflowEnvironment> {
  for (let tries = 1; ; tries++) {
    try {
      return await start();
    } catch (err) {
      if (tries === 3 || !/did not start within/.test((err as Error).message)) throw err;
    }
  }
}

export function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return startServer(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: requireTool('temporalTestServer') } },
    }),
  );
}

export function devServerEnv({ dbFilename, extraArgs }: { dbFilename?: string; extraArgs?: string[] } = {}): Promise<TestWorkflowEnvironment> {
  return startServer(async () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: requireTool('temporal') },
        port: await freePort(),
        dbFilename,
        searchAttributes: SEARCH_ATTRIBUTES,
        // Configured as `npm start` configures its dev server: priority and fairness on.
        extraArgs: [...fairnessArgs(), ...(extraArgs ?? [])],
      },
    }),
  );
}

/** The workflow bundle the global setup built once for this run. */
export const workflowBundle = { get codePath() { return bundlePath(); } };
