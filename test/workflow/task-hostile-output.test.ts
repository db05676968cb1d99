// What a task records about outsiders' output must never stop it: a CI command that prints a NUL
// (which Postgres jsonb refuses) used to make the CI verdict's insert fail and retry forever, so
// the task never left the gates. Time-skipping server, real activities, git, tmux, Postgres.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, sampleRepo } from '../harness/task-testbed.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

describe('hostile output', () => {
  it('a CI check printing a NUL and a broken UTF-8 sequence passes the gates, its verdict recorded', async () => {
    const repo = sampleRepo({
      ci: [{ name: 'noisy', command: "printf 'tests \\000 passed \\355\\240\\200 done\\n'" }],
      scenario: [{ files: { 'feature.txt': 'done\n' }, commit: 'Add the feature' }],
    });
    const bed = await createTestbed(env);
    const client = SwarmClient.fromClient(env.client, bed.config);
    try {
      await bed.run(async () => {
        await client.startTask({ id: 'noisy-ci', repository: repo, title: 'Add the feature', description: 'feature.txt', acceptanceCriteria: ['feature.txt exists'], shape: 'backend', agent: 'scripted' });
        const waiting = await eventually(() => client.getTask('noisy-ci'), (s) => s.status === 'awaiting_approval' || s.status === 'needs_human');
        expect(waiting.status).toBe('awaiting_approval');
        expect(waiting.checks.ci?.status).toBe('passed');
        const ci = (await listArtifacts(bed.database.db, 'noisy-ci')).find((a) => a.key.startsWith('verification:ci:'));
        expect(JSON.stringify(ci?.payload)).toContain('tests \ufffd passed');
        await client.abort('noisy-ci');
        expect(await client.result('noisy-ci')).toMatchObject({ status: 'aborted' });
      });
    } finally {
      await bed.teardown();
    }
  });
});
