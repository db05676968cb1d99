// Temporal for tests, always a real server: the time-skipping test server for workflow logic,
// the dev server (ephemeral port, temp state file) for integration.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { requireTool } from '../../workers/temporal-dev-server.ts';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import { freePort } from '../../lib/ports.ts';
import { bundlePath } from './paths.ts';

export function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: requireTool('temporalTestServer') } },
  });
}

export async function devServerEnv({ dbFilename, extraArgs }: { dbFilename?: string; extraArgs?: string[] } = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: requireTool('temporal') },
      port: await freePort(),
      dbFilename,
      searchAttributes: SEARCH_ATTRIBUTES,
      extraArgs,
    },
  });
}

/** The workflow bundle the global setup built once for this run. */
export const workflowBundle = { get codePath() { return bundlePath(); } };
