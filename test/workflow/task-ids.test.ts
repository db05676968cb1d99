// A task id through its starts: a failed, rejected or terminated start does not burn the id, a
// running one is not silently given another spec, each start keeps its own records, and the
// registry (`swarm tasks`, from Temporal's visibility) tells every ending apart. The dev server:
// the list, search attributes and memos are its visibility's.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SwarmClient, TaskIdTakenError } from '../../client/swarm-client.ts';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import type { RegistryEntry } from '../../workflows/task/registry.ts';
import { SwarmReason, SwarmStatus } from '../../workflows/search-attributes.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { tempDir } from '../harness/paths.ts';
import { swarm } from '../harness/stack-process.ts';
import { printLogs } from '../../client/commands/logs.ts';
import { loadConfig } from '../../lib/config.ts';
import { createTestbed, eventually, featureSpec, FEATURE_DONE, git, sampleRepo, type Testbed } from '../harness/task-testbed.ts';

let dev: TestWorkflowEnvironment;
beforeAll(async () => {
  dev = await devServerEnv();
});
afterAll(async () => {
  await dev?.teardown();
});

async function onTestbed(body: (t: { bed: Testbed; client: SwarmClient; repo: string }) => Promise<void>): Promise<void> {
  const repo = sampleRepo({ scenario: [FEATURE_DONE] });
  const bed = await createTestbed(dev);
  const client = SwarmClient.fromClient(dev.client, bed.config);
  try {
    await bed.run(() => body({ bed, client, repo }));
  } finally {
    await bed.teardown();
  }
}

const waiting = (s: TaskState) => s.status === 'awaiting_approval';
const entryOf = async (client: SwarmClient, id: string): Promise<RegistryEntry | undefined> => (await client.registry()).entries.find((e) => e.id === id);
const spawnRows = async (bed: Testbed, id: string) =>
  (await bed.database.db.query<{ run_key: string; attempt: number; spawns: number }>('SELECT run_key, attempt, spawns FROM agent_spawns WHERE task_id = $1 ORDER BY started_at', [id])).rows;

describe('a task id through its starts', () => {
  it('a start that failed at intake is started again with the corrected spec; its reason is in the search attributes and the memo', async () => {
    await onTestbed(async ({ client, repo }) => {
      const first = await client.startTask(featureSpec('fix-the-path', join(tempDir('gone'), 'no-such-repo')));
      expect(first).toMatchObject({ started: true });
      expect(await client.result('fix-the-path')).toMatchObject({ status: 'failed' });
      const failed = await dev.client.workflow.getHandle('task-fix-the-path').describe();
      expect(failed.status.name).toBe('FAILED');
      expect(failed.typedSearchAttributes.get(SwarmStatus)).toBe('failed');
      expect(failed.typedSearchAttributes.get(SwarmReason)).toMatch(/^failed at intake: .*does not exist/);
      expect(failed.memo?.registry).toMatchObject({ id: 'fix-the-path', status: 'failed', note: expect.stringMatching(/^failed at intake: /) });
      expect(await entryOf(client, 'fix-the-path')).toMatchObject({ status: 'failed' });

      const again = await client.startTask(featureSpec('fix-the-path', repo));
      expect(again).toMatchObject({ started: true, previousRun: { runId: first.runId, status: 'FAILED' } });
      expect(again.runId).not.toBe(first.runId);
      const state = await eventually(() => client.getTask('fix-the-path'), waiting);
      expect(state.spec.repository).toBe(repo);
      expect(state.runKey).toBe(again.runId);
      // The registry shows the id once: its newest start. A reason that was lifted is gone.
      const entries = (await client.registry()).entries.filter((e) => e.id === 'fix-the-path');
      expect(entries).toEqual([expect.objectContaining({ status: 'awaiting_approval', step: 'human_gate' })]);
      // A status filter goes by that newest start too: its failed first start does not make it a failed task.
      expect((await client.registry({ status: 'failed' })).entries.map((e) => e.id)).not.toContain('fix-the-path');
      expect((await client.registry({ status: 'awaiting_approval' })).entries.map((e) => e.id)).toContain('fix-the-path');
      const described = await dev.client.workflow.getHandle('task-fix-the-path').describe();
      expect(described.typedSearchAttributes.get(SwarmReason)).toBeUndefined();
      await client.decide('fix-the-path', { decision: 'approve', by: 'alice' });
      expect(await client.result('fix-the-path')).toMatchObject({ status: 'merged' });
    });
  });

  it('a running id: the same spec is the same task, another spec is refused naming the difference; a merged id is not started again', async () => {
    await onTestbed(async ({ client, repo }) => {
      const first = await client.startTask(featureSpec('one-spec', repo));
      await eventually(() => client.getTask('one-spec'), waiting);
      expect(await client.startTask(featureSpec('one-spec', repo))).toMatchObject({ started: false, existing: 'running', runId: first.runId });
      const other = client.startTask(featureSpec('one-spec', repo, { title: 'Something else' }));
      await expect(other).rejects.toThrow(TaskIdTakenError);
      await expect(other).rejects.toThrow('task one-spec not started: it is running with another spec (title: running "Add the feature", given "Something else"); abort it first, or use a new id');

      const merged = await client.decide('one-spec', { decision: 'approve', by: 'alice' });
      expect(merged).toMatchObject({ status: 'merged', step: 'done' });
      await client.result('one-spec');
      expect(await client.startTask(featureSpec('one-spec', repo))).toMatchObject({ started: false, existing: 'merged', runId: first.runId });
      await expect(client.startTask(featureSpec('one-spec', repo, { title: 'Something else' }))).rejects.toThrow(/it was merged \(PR #1\) with another spec \(title: /);
      expect(await entryOf(client, 'one-spec')).toMatchObject({ status: 'done', pr: 1 });
    });
  });

  it('a rejected task closes FAILED, and its id started again keeps each start\'s artifacts and spawns apart', async () => {
    await onTestbed(async ({ bed, client, repo }) => {
      const first = await client.startTask(featureSpec('second-go', repo));
      await eventually(() => client.getTask('second-go'), waiting);
      const rejected = await client.decide('second-go', { decision: 'reject', by: 'alice', reason: 'not like this' });
      expect(rejected).toMatchObject({ status: 'rejected', step: 'done' });
      expect(await client.result('second-go')).toMatchObject({ status: 'rejected', note: 'rejected by alice: not like this' });
      const closed = await dev.client.workflow.getHandle('task-second-go').describe();
      expect(closed.status.name).toBe('FAILED');
      expect(closed.typedSearchAttributes.get(SwarmReason)).toBe('rejected by alice: not like this');
      expect(await entryOf(client, 'second-go')).toMatchObject({ status: 'rejected', note: 'rejected by alice: not like this' });

      const again = await client.startTask(featureSpec('second-go', repo));
      expect(again).toMatchObject({ started: true, previousRun: { status: 'FAILED' } });
      await eventually(() => client.getTask('second-go'), waiting);
      expect(await spawnRows(bed, 'second-go')).toEqual([
        { run_key: first.runId, attempt: 1, spawns: 1 },
        { run_key: again.runId, attempt: 1, spawns: 1 },
      ]);
      const receipts = (runKey?: string) => listArtifacts(bed.database.db, 'second-go', runKey).then((all) => all.filter((a) => a.key === 'receipt:spawn:1'));
      expect(await receipts(first.runId)).toHaveLength(1);
      expect(await receipts(again.runId)).toHaveLength(1);
      await client.abort('second-go', { by: 'alice' });
      expect(await client.result('second-go')).toMatchObject({ status: 'aborted' });
    });
  });

  it('terminated in Temporal: the registry says so, and a new start of the id first removes what the terminated one left', async () => {
    await onTestbed(async ({ bed, client, repo }) => {
      const first = await client.startTask(featureSpec('cut-off', repo));
      await eventually(() => client.getTask('cut-off'), waiting);
      await dev.client.workflow.getHandle('task-cut-off').terminate('from the Web UI');
      const entry = await entryOf(client, 'cut-off');
      expect(entry).toMatchObject({ status: 'terminated', note: expect.stringContaining('terminated in Temporal') });
      const paths = agentPaths(bed.config.stateDir);
      // Nothing ran after the termination: the clone, the branch and the agent's files are still there.
      expect(existsSync(paths.worktree('cut-off'))).toBe(true);
      expect(git(repo, 'branch', '--list', 'swarm/cut-off')).toContain('swarm/cut-off');
      expect(existsSync(join(paths.attempt('cut-off', 1).exitFile))).toBe(true);

      // Another spec may start an id whose last run did not merge.
      const again = await client.startTask(featureSpec('cut-off', repo, { description: 'feature.txt holds "done", the second time.' }));
      expect(again).toMatchObject({ started: true, previousRun: { status: 'TERMINATED' } });
      const state = await eventually(() => client.getTask('cut-off'), waiting);
      // A fresh attempt 1, really run: the new start's agent got the new prompt, not the old exit read back.
      expect(state.attempts).toHaveLength(1);
      expect(readFileSync(paths.attempt('cut-off', 1).promptFile, 'utf8')).toContain('the second time');
      expect((await spawnRows(bed, 'cut-off')).filter((r) => r.run_key === again.runId)).toEqual([{ run_key: again.runId, attempt: 1, spawns: 1 }]);
      await client.abort('cut-off', { by: 'alice' });
      expect(await client.result('cut-off')).toMatchObject({ status: 'aborted' });
      // Each start's attempt 1 is kept under its own run key: the second did not overwrite the first.
      const keptPrompt = (runKey: string) => gunzipSync(readFileSync(join(paths.keptLogs('cut-off'), runKey, 'attempt-1', 'prompt.md.gz'))).toString();
      expect(keptPrompt(first.runId!)).not.toContain('the second time');
      expect(keptPrompt(again.runId!)).toContain('the second time');
    });
  });
});

describe('swarm tasks', () => {
  it('lists from visibility, filters by status, and refuses a status it does not know (exit 2)', async () => {
    await onTestbed(async ({ bed, client, repo }) => {
      await client.startTask(featureSpec('listed-failed', join(tempDir('gone'), 'no-such-repo')));
      await client.result('listed-failed');
      await client.startTask(featureSpec('listed-waiting', repo));
      await eventually(() => client.getTask('listed-waiting'), waiting);
      const env = { ...process.env, TEMPORAL_ADDRESS: dev.address, SWARM_STATE_DIR: bed.config.stateDir, SWARM_ORCHESTRATION_QUEUE: bed.config.workers.orchestrationQueue, SWARM_HOST_ID: bed.config.workers.hostId };
      const failed = swarm(env, 'tasks', '--status', 'failed', '--json');
      expect(failed.code).toBe(0);
      const ids = (JSON.parse(failed.stdout) as RegistryEntry[]).map((e) => e.id);
      expect(ids).toContain('listed-failed');
      expect(ids).not.toContain('listed-waiting');
      const table = swarm(env, 'tasks', '--limit', '1');
      expect(table.code).toBe(0);
      expect(table.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^listed-waiting\s+awaiting_approval\s+human_gate\s+scripted\s+attempts 1$/)]);
      expect(table.stderr).toContain('more than 1 tasks: --limit 10 shows more');
      const wrong = swarm(env, 'tasks', '--status', 'merged');
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('--status must be one of running, awaiting_approval, needs_human, done, rejected, aborted, failed, terminated, timed_out (got "merged")');
      // With nothing on this host, swarm logs asks the server why: no such task, or no agent started.
      const unknown = swarm(env, 'logs', 'never-started');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^swarmflow: unknown task never-started: there is no workflow task-never-started, and no logs of task never-started on this host/);
      // In this process, where the workers answer the query (a spawned CLI would block them here).
      const io = { out: new PassThrough(), err: new PassThrough() };
      await expect(printLogs('listed-failed', {}, loadConfig({ env }), io)).rejects.toThrow(/: the task is failed at intake and has started no agent$/);
      await client.abort('listed-waiting', { by: 'alice' });
      await client.result('listed-waiting');
    });
  });
});
