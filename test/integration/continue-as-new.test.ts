// The monitor loop continues as new before its history grows large, and the task carries on:
// same session (no second spawn), same state, then approval and merge. The dev server is told to
// suggest continue-as-new after 60 events instead of 4,096.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SwarmClient } from '../../client/swarm-client.ts';
import { repositoryFairnessKey } from '../../workflows/task/spec.ts';
import { SwarmAgent, SwarmPrNumber, SwarmStatus, SwarmStep } from '../../workflows/search-attributes.ts';
import { processEnv } from '../harness/process-env.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, git, sampleRepo } from '../harness/task-testbed.ts';

// The worker's secrets, in its environment for the whole run: none may surface to an operator.
const SECRETS = { GITHUB_TOKEN: 'ghp_marker_cas_0451', DATABASE_URL: 'postgres://u:marker-cas-0451@db/x', TELEGRAM_BOT_TOKEN: '1:marker-cas-tg-0451' };
const vars = processEnv();

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  for (const [name, value] of Object.entries(SECRETS)) vars.set(name, value);
  env = await devServerEnv({ extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=60'] });
});
afterAll(async () => {
  await env?.teardown();
  vars.restore();
});

describe('continue-as-new', () => {
  it('carries a long-running task across runs without respawning its agent', async () => {
    const repo = sampleRepo({ scenario: [{ files: { 'feature.txt': 'done\n' }, commit: 'Add feature', sleepMs: 12_000 }] });
    const bed = await createTestbed(env);
    const client = SwarmClient.fromClient(env.client, bed.config);
    try {
      await bed.run(async () => {
        await client.startTask({ id: 'long-runner', repository: repo, title: 'A long one', description: 'Takes a while.', acceptanceCriteria: ['feature.txt exists'], shape: 'backend', agent: 'scripted', limits: { monitorInterval: '1s' } });
        const waiting = await eventually(() => client.getTask('long-runner'), (s) => s.status === 'awaiting_approval');
        expect(waiting.continuedAsNew).toBeGreaterThanOrEqual(1);
        const runs = [];
        for await (const wf of env.client.workflow.list({ query: `WorkflowId = 'task-long-runner'` })) runs.push(wf.runId);
        expect(runs.length).toBe(waiting.continuedAsNew + 1);
        // What an operator sees in the Web UI: search attributes, summary, live current details.
        const handle = env.client.workflow.getHandle('task-long-runner');
        const described = await handle.describe();
        expect(described.typedSearchAttributes.get(SwarmStatus)).toBe('awaiting_approval');
        expect(described.typedSearchAttributes.get(SwarmStep)).toBe('human_gate');
        expect(described.typedSearchAttributes.get(SwarmAgent)).toBe('scripted');
        expect(described.typedSearchAttributes.get(SwarmPrNumber)).toBe(1);
        // The run continued as new keeps the priority startTask gave the first (its activities inherit it from there).
        expect(described.priority).toMatchObject({ priorityKey: 3, fairnessKey: repositoryFairnessKey(repo) });
        // Continue-as-new carries no user metadata in SDK 1.24: the summary is on the first run, and
        // the current details (set by every run) lead with the title.
        const firstRun = await env.client.workflow.getHandle('task-long-runner', runs.at(-1)).describe();
        expect(await firstRun.staticSummary()).toBe('long-runner: A long one');
        expect(await described.staticSummary()).toBeUndefined();
        const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        expect(metadata.currentDetails).toMatch(/^\*\*A long one\*\* — awaiting approval, attempt 1\/3/);
        expect(metadata.currentDetails).toContain('- ▶️ 8. Human approval, merge, cleanup');
        expect(metadata.currentDetails).toContain('✅ CI gates pass');
        // No secret of the worker in the search attributes, the details or the task's state.
        const visible = JSON.stringify([described.searchAttributes, metadata.currentDetails, await client.getTask('long-runner')]);
        for (const secret of Object.values(SECRETS)) expect(visible).not.toContain(secret);
        const spawns = await bed.database.db.query<{ spawns: number }>("SELECT spawns FROM agent_spawns WHERE task_id = 'long-runner'");
        expect(spawns.rows).toEqual([{ spawns: 1 }]);

        await client.decide('long-runner', { decision: 'approve', by: 'alice' });
        expect((await client.result('long-runner')).status).toBe('merged');
        expect(git(repo, 'show', 'main:feature.txt')).toBe('done');
      });
    } finally {
      await bed.teardown();
    }
  }, 120_000);
});
