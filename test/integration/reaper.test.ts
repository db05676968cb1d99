// The reaper: a task terminated in Temporal (as from the Web UI) runs no cleanup; the reaper removes
// its clone, tmux session and branch and reports them, leaves a running task's alone, and runs from
// a schedule per host. Dev server (schedules), real git, tmux and Postgres.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appendFileSync, chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SwarmClient } from '../../client/swarm-client.ts';
import { formatReapReport, reaperSchedule, reapNow } from '../../client/commands/reap.ts';
import { reaperScheduleId } from '../../lib/reaper.ts';
import { ensureReaperSchedule } from '../../workers/reaper-schedule.ts';
import type { ReapReport } from '../../workflows/reaper/types.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { swarm } from '../harness/stack-process.ts';
import { createTestbed, eventually, git, sampleRepo, tmuxSessionExists, type Testbed } from '../harness/task-testbed.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const specFor = (id: string, repository: string) => ({
  id,
  repository,
  title: 'A long task',
  description: 'The agent works for a long time.',
  acceptanceCriteria: ['it finishes'],
  shape: 'backend' as const,
  agent: 'scripted',
});

/** What a task has on the host: its clone, session and branch of record. */
function resources(bed: Testbed, repo: string, taskId: string) {
  return {
    worktree: existsSync(join(bed.config.stateDir, 'worktrees', taskId)),
    session: tmuxSessionExists(bed.config, `swarm-${taskId}`),
    branch: git(repo, 'branch', '--list', `swarm/${taskId}`) !== '',
  };
}
const ALL = { worktree: true, session: true, branch: true };
const NONE = { worktree: false, session: false, branch: false };

describe('the reaper', () => {
  it('removes what a terminated task left, reports it, and leaves a running task alone', async () => {
    // The agent works for ten minutes: its session, clone and branch are there until someone removes them.
    const repo = sampleRepo({ scenario: [{ sleepMs: 600_000 }] });
    const bed = await createTestbed(env);
    const client = SwarmClient.fromClient(env.client, bed.config);
    try {
      await bed.run(async () => {
        for (const id of ['terminated', 'running']) await client.startTask(specFor(id, repo));
        for (const id of ['terminated', 'running']) await eventually(() => Promise.resolve(resources(bed, repo, id)), (r) => r.worktree && r.session && r.branch);

        // What the agent may plant in its clone runs nowhere: git never runs in it.
        const clone = join(bed.config.stateDir, 'worktrees', 'terminated');
        const marker = join(tempDir('planted'), 'ran');
        const hook = join(clone, '.git', 'hooks', 'reference-transaction');
        mkdirSync(dirname(hook), { recursive: true });
        writeFileSync(hook, `#!/bin/sh\ntouch '${marker}'\n`);
        chmodSync(hook, 0o755);
        appendFileSync(join(clone, '.git', 'config'), `[core]\n\tfsmonitor = touch '${marker}'\n\thooksPath = .git/hooks\n`);

        await env.client.workflow.getHandle('task-terminated').terminate('terminated from the Web UI');
        await eventually(() => client.registry(), (page) => page.entries.some((e) => e.id === 'terminated' && e.status === 'terminated'));

        // Within the grace period (1m by default) a closed task may still be cleaning up after itself.
        const early = await reapNow(client);
        expect(early.removed).toEqual([]);
        expect(early.kept).toEqual([
          { taskId: 'running', reason: 'its workflow is RUNNING' },
          { taskId: 'terminated', reason: expect.stringMatching(/^its workflow closed \(TERMINATED\) at .*, within the grace period$/) },
        ]);
        expect(resources(bed, repo, 'terminated')).toEqual(ALL);

        bed.config.reaper.grace = '0s';
        const report: ReapReport = await reapNow(client);
        expect(report.removed).toEqual([
          { taskId: 'terminated', workflowStatus: 'TERMINATED', closedAt: expect.any(String), session: true, worktree: true, branch: true, taskFiles: true, leftovers: expect.any(Number), logsKept: 1 },
        ]);
        expect(report.kept).toEqual([{ taskId: 'running', reason: 'its workflow is RUNNING' }]);
        expect(resources(bed, repo, 'terminated')).toEqual(NONE);
        expect(resources(bed, repo, 'running')).toEqual(ALL);
        expect(existsSync(marker)).toBe(false);
        await recordHistory(env.client, `${reaperScheduleId(bed.config)}-now`, 'dev-server-reaper');
        expect(formatReapReport(report)).toMatch(/^ {2}removed {2}terminated: worktree, tmux session, branch, task files, 1 attempt log\(s\) kept \(workflow TERMINATED at .+\)$/m);

        // Idempotent: nothing of the terminated task is left to find.
        expect(await reapNow(client)).toMatchObject({ removed: [], kept: [{ taskId: 'running' }] });

        await client.abort('running');
        await client.result('running');
        expect(resources(bed, repo, 'running')).toEqual(NONE);
      });
    } finally {
      await bed.teardown();
    }
  }, 180_000);

  it('closes the PR of a task terminated while it waited for approval', async () => {
    const repo = sampleRepo({ scenario: [{ files: { 'feature.txt': 'done\n' }, commit: 'Add the feature' }] });
    const bed = await createTestbed(env);
    const client = SwarmClient.fromClient(env.client, bed.config);
    const prState = async () => (await bed.database.db.query<{ state: string }>('SELECT state FROM local_prs WHERE repository = $1 AND number = 1', [repo])).rows[0]?.state;
    try {
      await bed.run(async () => {
        await client.startTask(specFor('cut-at-gate', repo));
        await eventually(() => client.getTask('cut-at-gate'), (s) => s.status === 'awaiting_approval');
        expect(await prState()).toBe('open');
        await env.client.workflow.getHandle('task-cut-at-gate').terminate('from the Web UI');
        bed.config.reaper.grace = '0s';
        const report = await reapNow(client);
        expect(report.removed).toEqual([expect.objectContaining({ taskId: 'cut-at-gate', workflowStatus: 'TERMINATED', worktree: true, branch: true, pr: { number: 1, closed: true } })]);
        expect(formatReapReport(report)).toContain(', PR #1 closed (workflow TERMINATED at ');
        expect(await prState()).toBe('closed');
        expect(resources(bed, repo, 'cut-at-gate')).toEqual(NONE);
      });
    } finally {
      await bed.teardown();
    }
  });

  it('runs from one schedule per host, created at start and brought up to date, which keeps its report', async () => {
    const bed = await createTestbed(env);
    const client = SwarmClient.fromClient(env.client, bed.config);
    try {
      // No worker serves this testbed's queues yet: reap says which queue and how to start it.
      await expect(reapNow(client)).rejects.toThrow(`no worker polls ${bed.config.workers.orchestrationQueue}: start the stack with \`npm start\``);
      expect(await reaperSchedule(client)).toBeUndefined();
      expect(await ensureReaperSchedule(env.client, bed.config)).toBe('created');
      const schedule = env.client.schedule.getHandle(reaperScheduleId(bed.config));
      let described = await schedule.describe();
      expect(described.spec.intervals).toMatchObject([{ every: 600_000 }]);
      expect(described.policies.overlap).toBe('SKIP');
      expect(described.action).toMatchObject({ workflowType: 'reaper', taskQueue: bed.config.workers.orchestrationQueue, args: [{ hostQueue: `swarm-host-${bed.config.workers.hostId}`, graceMs: 60_000 }] });

      // A restart with another interval updates the one schedule; an operator's pause stays.
      await schedule.pause('looking into something');
      bed.config.reaper.interval = '5m';
      expect(await ensureReaperSchedule(env.client, bed.config)).toBe('updated');
      described = await schedule.describe();
      expect(described.spec.intervals).toMatchObject([{ every: 300_000 }]);
      expect(described.state.paused).toBe(true);

      await bed.run(async () => {
        await schedule.trigger();
        const seen = await eventually(() => reaperSchedule(client), (s) => s?.lastRun?.status === 'COMPLETED');
        expect(seen).toMatchObject({ scheduleId: `swarm-reaper-${bed.config.workers.hostId}`, everyMs: 300_000, paused: true, lastRun: { report: { removed: [], kept: [] } } });
      });
    } finally {
      await bed.teardown();
    }
  }, 120_000);

  it('swarm reap says the stack is down, where it looked, and exits 1', () => {
    const res = swarm({ ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', SWARM_STATE_DIR: tempDir('reap-down') }, 'reap');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no Temporal server answers at 127.0.0.1:1 (TEMPORAL_ADDRESS)');
  });
});
