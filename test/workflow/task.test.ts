// Every branch of the task workflow, on the time-skipping test server with the real activities:
// real git repositories, worktrees, tmux sessions, CI commands, reviewers and Postgres.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { registryEntry } from '../../workflows/task/registry.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import type { TaskSpecInput } from '../../workflows/task/spec.ts';
import { renderDetails, type TaskState } from '../../workflows/task/state.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { swarm } from '../harness/stack-process.ts';
import { SCRIPTED_REVIEWER, commitFiles, createTestbed, eventually, git, sampleRepo, tmuxSessionExists, type ScenarioStep, type Testbed } from '../harness/task-testbed.ts';

const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = {
  'calc.mjs': ADD,
  'test.mjs': "import assert from 'node:assert';\nimport * as calc from './calc.mjs';\nassert.equal(calc.add(2, 3), 5);\nif (calc.multiply) assert.equal(calc.multiply(4, 5), 20, 'multiply(4, 5) must be 20');\nconsole.log('ok');\n",
};
const CI = [{ name: 'tests', command: 'node test.mjs' }];
const GOOD: ScenarioStep = { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' };
const BROKEN: ScenarioStep = { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a + b;\n` }, commit: 'Add multiply (wrong)' };

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

function spec(id: string, repository: string, extra: Partial<TaskSpecInput> = {}): TaskSpecInput {
  return {
    id,
    repository,
    title: 'Add multiply() to the calculator',
    description: 'Add multiply(a, b) next to add().',
    acceptanceCriteria: ['calc.multiply(4, 5) returns 20'],
    shape: 'backend',
    agent: 'scripted',
    ...extra,
  };
}

interface Run {
  bed: Testbed;
  client: SwarmClient;
  repo: string;
  baseBefore: string;
  state: () => Promise<TaskState>;
  until: (done: (s: TaskState) => boolean) => Promise<TaskState>;
}

/** Whether the workflow's newest command is a timer it waits on: every activity it scheduled has closed, and a timer started after them. */
async function waitsOnTimer(workflowId: string): Promise<boolean> {
  const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const E = temporal.api.enums.v1.EventType;
  const is = (e: (typeof events)[number], ...types: number[]) => types.includes(Number(e.eventType));
  const scheduled = events.filter((e) => is(e, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).length;
  const closed = events.filter((e) => is(e, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, E.EVENT_TYPE_ACTIVITY_TASK_FAILED, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)).length;
  return scheduled === closed && events.findLastIndex((e) => is(e, E.EVENT_TYPE_TIMER_STARTED)) > events.findLastIndex((e) => is(e, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED));
}

async function withTask(
  id: string,
  scenario: ScenarioStep[],
  body: (run: Run) => Promise<void>,
  options: { reviewers?: Testbed['config']['reviewers']; spec?: Partial<TaskSpecInput>; files?: Record<string, string>; uiPaths?: string[] } = {},
): Promise<void> {
  const repo = sampleRepo({ files: { ...FILES, ...options.files }, ci: CI, uiPaths: options.uiPaths, scenario });
  const bed = await createTestbed(env, { reviewers: options.reviewers });
  const client = SwarmClient.fromClient(env.client, bed.config);
  const baseBefore = git(repo, 'rev-parse', 'main');
  try {
    await bed.run(async () => {
      await client.startTask(spec(id, repo, options.spec));
      const state = () => client.getTask(id);
      await body({ bed, client, repo, baseBefore, state, until: (done) => eventually(state, done) });
      await recordHistory(env.client, `task-${id}`, `time-skipping-${id}`);
    });
  } finally {
    await bed.teardown();
  }
}

const awaitingApproval = (s: TaskState) => s.status === 'awaiting_approval';

/** No worktree, tmux session, task branch or task files left behind. */
function expectCleanedUp(run: Run, id: string): void {
  expect(existsSync(join(run.bed.config.stateDir, 'worktrees', id))).toBe(false);
  expect(tmuxSessionExists(run.bed.config, `swarm-${id}`)).toBe(false);
  expect(git(run.repo, 'branch', '--list', `swarm/${id}`)).toBe('');
}

describe('task workflow', () => {
  it('happy path: through all 8 steps to the gate, approved, merged, cleaned up, with its artifacts', async () => {
    await withTask('happy', [GOOD], async (run) => {
      const waiting = await run.until(awaitingApproval);
      expect(waiting.step).toBe('human_gate');
      expect(waiting.dod?.readyForApproval).toBe(true);
      expect(waiting.dod?.items.map((i) => [i.key, i.ok])).toEqual([
        ['pr_exists', true],
        ['synced_with_base', true],
        ['forge_rules', true],
        ['ci_passed', true],
        ['lint_passed', true],
        ['reviews_passed', true],
        ['ui_evidence', true],
        ['policy_checks', true],
        ['human_approved', false],
      ]);
      expect(registryEntry(waiting)).toMatchObject({ id: 'happy', tmuxSession: 'swarm-happy', agent: 'scripted', branch: 'swarm/happy', status: 'awaiting_approval', attempts: 1 });
      // Nothing merged before the approval.
      expect(git(run.repo, 'rev-parse', 'main')).toBe(run.baseBefore);

      await run.client.decide('happy', { decision: 'approve', by: 'alice', comment: 'ship it' });
      const result = await run.client.result('happy');
      expect(result).toMatchObject({ taskId: 'happy', status: 'merged', pr: 1 });
      expect(git(run.repo, 'show', 'main:calc.mjs')).toContain('a * b');
      expect(git(run.repo, 'rev-parse', 'main')).toBe(result.mergeSha);
      expectCleanedUp(run, 'happy');

      const final = await run.state();
      expect(registryEntry(final)).toMatchObject({ id: 'happy', status: 'done', pr: 1, checks: { prCreated: true, ciPassed: true } });
      // The agent's log outlives the task: kept under this start's run key, where the details and `swarm logs` point.
      expect(final.session?.keptLogs).toBe(join(run.bed.config.stateDir, 'logs', 'happy', final.runKey!));
      expect(existsSync(join(final.session!.keptLogs!, 'attempt-1', 'agent.log.gz'))).toBe(true);
      expect(renderDetails(final)).toContain(`\`swarmflow logs happy --run ${final.runKey} --attempt 1\`, kept in \`${final.session!.keptLogs}\``);
      const logs = swarm({ ...process.env, SWARM_STATE_DIR: run.bed.config.stateDir, TEMPORAL_ADDRESS: '127.0.0.1:1' }, 'logs', 'happy');
      expect(logs).toMatchObject({ code: 0, stderr: '' });
      expect(logs.stdout).toContain('Add multiply() to the calculator');
      expect(run.bed.notifier.events('happy')).toEqual(['ready_for_approval', 'merged']);
      const keys = (await listArtifacts(run.bed.database.db, 'happy')).map((a) => `${a.kind}:${a.key}`);
      expect(keys).toEqual(expect.arrayContaining(['intent:intent', 'receipt:receipt:spawn:1', 'receipt:receipt:pr:1', 'verification:verification:final']));
    });
  });

  it('CI red then green: the failure is classified, and the second prompt carries only its evidence', async () => {
    await withTask('ci-red', [BROKEN, GOOD], async (run) => {
      const waiting = await run.until(awaitingApproval);
      expect(waiting.attempts).toHaveLength(2);
      expect(waiting.attempts[0]).toMatchObject({ outcome: 'failed', failure: { kind: 'test_regression', evidence: { source: 'ci' } } });
      expect(waiting.attempts[0]!.failure!.evidence.details.join('\n')).toContain('multiply(4, 5) must be 20');
      const receipts = (await listArtifacts(run.bed.database.db, 'ci-red')).filter((a) => a.key.startsWith('receipt:spawn:'));
      expect(receipts.map((r) => r.key)).toEqual(['receipt:spawn:1', 'receipt:spawn:2']);
      expect(receipts[0]!.payload.prompt).not.toContain('multiply(4, 5) must be 20');
      expect(receipts[1]!.payload.prompt).toContain('multiply(4, 5) must be 20');
      await run.client.decide('ci-red', { decision: 'approve', by: 'alice' });
      expect((await run.client.result('ci-red')).status).toBe('merged');
    });
  });

  it('critical review finding goes back to the agent, then the fixed head passes review', async () => {
    const findings = join(tempDir('findings'), 'findings.json');
    writeFileSync(findings, JSON.stringify({ findings: [{ severity: 'critical', file: 'calc.mjs', line: 2, message: 'eval() is forbidden here', whenDiffContains: 'eval(' }] }));
    const EVIL: ScenarioStep = { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => eval(\`\${a} * \${b}\`);\n` }, commit: 'Add multiply via eval' };
    await withTask(
      'review-fix',
      [EVIL, GOOD],
      async (run) => {
        const waiting = await run.until(awaitingApproval);
        expect(waiting.attempts[0]).toMatchObject({ outcome: 'failed', failure: { evidence: { source: 'review', details: ['calc.mjs:2 critical (strict): eval() is forbidden here'] } } });
        expect(waiting.checks.review?.results).toEqual([{ reviewer: 'strict', status: 'ok', findings: [] }]);
        expect(waiting.checks.review?.headSha).toBe(waiting.checks.pr?.headSha);
        await run.client.abort('review-fix', { by: 'test' });
        expect((await run.client.result('review-fix')).status).toBe('aborted');
        expect(git(run.repo, 'rev-parse', 'main')).toBe(run.baseBefore);
      },
      { reviewers: [{ name: 'strict', command: ['node', SCRIPTED_REVIEWER, findings], timeout: '1m' }] },
    );
  });

  it('conflict with the base: reported to the agent, resolved on the next attempt, merged on top of the new base', async () => {
    const SLOW_CONFLICTING: ScenarioStep = { files: { 'calc.mjs': `export const add = (x, y) => x + y;\nexport const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply, rename params', sleepMs: 3_000 };
    const RESOLVED: ScenarioStep = { files: { 'calc.mjs': `// calculator\n${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Take the new header' };
    await withTask('conflict', [SLOW_CONFLICTING, RESOLVED], async (run) => {
      await run.until((s) => s.step === 'monitor' && s.attempts.length === 1);
      // The base moves under the running agent, touching the same line.
      const moved = commitFiles(run.repo, { 'calc.mjs': `// calculator\nexport const add = (a, b) => a + b;\n` }, 'Add a header');
      const waiting = await run.until(awaitingApproval);
      expect(waiting.attempts[0]).toMatchObject({ outcome: 'failed', failure: { kind: 'context_gap', evidence: { source: 'conflict', files: ['calc.mjs'] } } });
      await run.client.decide('conflict', { decision: 'approve', by: 'alice' });
      expect((await run.client.result('conflict')).status).toBe('merged');
      expect(git(run.repo, 'merge-base', '--is-ancestor', moved, 'main')).toBe('');
      expect(git(run.repo, 'show', 'main:calc.mjs')).toBe(`// calculator\n${ADD}export const multiply = (a, b) => a * b;`);
    });
  });

  it('attempts exhausted: needs_human and escalated; retry with guidance gets one more attempt that carries it', async () => {
    await withTask(
      'exhausted',
      [BROKEN, BROKEN, GOOD],
      async (run) => {
        const stuck = await run.until((s) => s.status === 'needs_human');
        expect(stuck.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed']);
        expect(run.bed.notifier.events('exhausted')).toEqual(['escalated']);
        expect(tmuxSessionExists(run.bed.config, 'swarm-exhausted')).toBe(false);

        await run.client.retry('exhausted', 'multiply must multiply: use a * b', 'alice');
        const waiting = await run.until(awaitingApproval);
        expect(waiting.attempts).toHaveLength(3);
        const third = (await listArtifacts(run.bed.database.db, 'exhausted')).find((a) => a.key === 'receipt:spawn:3');
        expect(third?.payload.prompt).toContain('multiply must multiply: use a * b');
        await run.client.decide('exhausted', { decision: 'approve', by: 'alice' });
        expect((await run.client.result('exhausted')).status).toBe('merged');
      },
      { spec: { limits: { maxAttempts: 2 } } },
    );
  });

  it('keeps a retry that arrives while the escalation is still being sent', async () => {
    await withTask(
      'early-retry',
      [BROKEN, GOOD],
      async (run) => {
        const escalation = run.bed.notifier.holdNext('escalated');
        await escalation.arrived;
        // The task already shows needs_human: a human answers before the notification went out.
        await run.until((s) => s.status === 'needs_human');
        await run.client.retry('early-retry', 'multiply must multiply: use a * b', 'alice');
        escalation.release();
        const waiting = await run.until(awaitingApproval);
        expect(waiting.attempts).toHaveLength(2);
        await run.client.decide('early-retry', { decision: 'approve', by: 'alice' });
        expect((await run.client.result('early-retry')).status).toBe('merged');
      },
      { spec: { limits: { maxAttempts: 1 } } },
    );
  });

  it('reject: the PR is closed, nothing merges, everything is cleaned up', async () => {
    await withTask('rejected', [GOOD], async (run) => {
      await run.until(awaitingApproval);
      await run.client.decide('rejected', { decision: 'reject', by: 'alice', reason: 'not needed' });
      const result = await run.client.result('rejected');
      expect(result).toMatchObject({ status: 'rejected', note: 'rejected by alice: not needed' });
      expect(git(run.repo, 'rev-parse', 'main')).toBe(run.baseBefore);
      expect((await run.state()).checks.pr?.state).not.toBe('merged');
      expectCleanedUp(run, 'rejected');
      expect(run.bed.notifier.events('rejected')).toEqual(['ready_for_approval', 'rejected']);
    });
  });

  it('refuses an approval before the Definition of Done is met, and from someone not on the approvers list', async () => {
    await withTask('early-approval', [{ ...GOOD, sleepMs: 2_000 }], async (run) => {
      await run.until((s) => s.step === 'monitor');
      await expect(run.client.decide('early-approval', { decision: 'approve', by: 'alice' })).rejects.toThrow(WorkflowUpdateFailedError);
      await run.client.approve('early-approval', { by: 'alice' }); // the signal is ignored, with a note
      const waiting = await run.until(awaitingApproval);
      expect(waiting.notes.some((n) => n.includes('approval by alice refused: the Definition of Done is not met yet'))).toBe(true);
      expect(waiting.decision).toBeUndefined();

      const refused = run.client.decide('early-approval', { decision: 'approve', by: 'mallory' });
      await expect(refused).rejects.toThrow(WorkflowUpdateFailedError);
      await refused.catch((err: WorkflowUpdateFailedError) => expect(err.cause?.message).toBe('approval refused: mallory is not on the approvers list'));
      expect(git(run.repo, 'rev-parse', 'main')).toBe(run.baseBefore);
      await run.client.decide('early-approval', { decision: 'approve', by: 'alice' });
      expect((await run.client.result('early-approval')).status).toBe('merged');
    });
  });

  it('waits 3 days for approval on durable timers, reminding daily, then merges', async () => {
    // The gate looks again at the monitor interval: every 6 hours here, 12 looks instead of 432, keeps the test quick.
    await withTask('three-days', [GOOD], async (run) => {
      await run.until(awaitingApproval);
      const before = await env.currentTimeMs();
      await env.sleep('3 days');
      expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(3 * 86_400_000);
      const reminders = await eventually(
        () => Promise.resolve(run.bed.notifier.events('three-days').filter((e) => e === 'approval_reminder').length),
        (n) => n >= 3,
      );
      expect(reminders).toBe(3);
      expect((await run.state()).status).toBe('awaiting_approval');
      await run.client.decide('three-days', { decision: 'approve', by: 'alice' });
      expect((await run.client.result('three-days')).status).toBe('merged');
    }, { spec: { limits: { monitorInterval: '6h' } } });
  });

  it('keeps the branch in sync while it waits: a forge event after the base moved sends it back through verification', async () => {
    await withTask('base-moves', [GOOD], async (run) => {
      const first = await run.until(awaitingApproval);
      const moved = commitFiles(run.repo, { 'README.md': 'calculator\n' }, 'Add a readme');
      await run.client.forgeEvent('base-moves', { kind: 'status', repository: run.repo, deliveryId: 'test-1' });
      const again = await run.until((s) => s.status === 'awaiting_approval' && s.checks.pr?.headSha !== first.checks.pr?.headSha);
      expect(again.notes.some((n) => n.includes('the Definition of Done is not met (Branch is synchronized with the latest base: behind the base by 1 commit(s)): verifying again'))).toBe(true);
      expect(again.checks.ci?.headSha).toBe(again.checks.pr?.headSha);
      expect(run.bed.notifier.events('base-moves')).toEqual(['ready_for_approval', 'ready_for_approval']);
      await run.client.decide('base-moves', { decision: 'approve', by: 'alice' });
      expect((await run.client.result('base-moves')).status).toBe('merged');
      expect(git(run.repo, 'merge-base', '--is-ancestor', moved, 'main')).toBe('');
      expect(git(run.repo, 'show', 'main:calc.mjs')).toContain('a * b');
    });
  });

  it('sees a forge event that came while the gate was still asking for approval: the moved base is verified again at once, not at the next tick', async () => {
    await withTask('base-moves-early', [GOOD], async (run) => {
      const asking = run.bed.notifier.holdNext('ready_for_approval');
      await asking.arrived;
      const first = await run.state();
      expect(first.status).toBe('awaiting_approval');
      commitFiles(run.repo, { 'README.md': 'calculator\n' }, 'Add a readme');
      await run.client.forgeEvent('base-moves-early', { kind: 'status', repository: run.repo, deliveryId: 'early-1' });
      asking.release();
      // No time is skipped: only the event can send it back, before the 10-minute tick.
      const again = await run.until((s) => s.status === 'awaiting_approval' && s.checks.pr?.headSha !== first.checks.pr?.headSha);
      expect(again.notes.some((n) => n.includes('the Definition of Done is not met (Branch is synchronized with the latest base: behind the base by 1 commit(s)): verifying again'))).toBe(true);
      await run.client.abort('base-moves-early', { by: 'test' });
    });
  });

  it('looks again at the monitor interval while it waits: a base that moved with no event is verified again then, not at the next reminder', async () => {
    await withTask('base-moves-quietly', [GOOD], async (run) => {
      const first = await run.until(awaitingApproval);
      const moved = commitFiles(run.repo, { 'README.md': 'calculator\n' }, 'Add a readme');
      // No forge event: the local forge has no webhooks, and a GitHub delivery can be lost. Time is
      // skipped once the gate waits on its timer (not while it still asks for approval, before the
      // timer exists: the skip would pass it by).
      await eventually(() => waitsOnTimer('task-base-moves-quietly'), (waits) => waits);
      await env.sleep('11 minutes');
      const again = await run.until((s) => s.status === 'awaiting_approval' && s.checks.pr?.headSha !== first.checks.pr?.headSha);
      expect(again.notes.some((n) => n.includes('the Definition of Done is not met (Branch is synchronized with the latest base: behind the base by 1 commit(s)): verifying again'))).toBe(true);
      expect(again.dod?.readyForApproval).toBe(true);
      // Asked again for the new head; no reminder was needed to notice.
      expect(run.bed.notifier.events('base-moves-quietly')).toEqual(['ready_for_approval', 'ready_for_approval']);
      await run.client.decide('base-moves-quietly', { decision: 'approve', by: 'alice' });
      expect((await run.client.result('base-moves-quietly')).status).toBe('merged');
      expect(git(run.repo, 'merge-base', '--is-ancestor', moved, 'main')).toBe('');
    });
  });

  it('nothing merges without an approval: abort while the agent runs, and cancellation, both clean up', async () => {
    await withTask('aborted', [{ ...GOOD, sleepMs: 3_000 }], async (run) => {
      await run.until((s) => s.step === 'monitor');
      await run.client.abort('aborted', { by: 'op', reason: 'wrong repo' });
      expect(await run.client.result('aborted')).toMatchObject({ status: 'aborted', note: 'aborted by op: wrong repo' });
      expect(git(run.repo, 'rev-parse', 'main')).toBe(run.baseBefore);
      expectCleanedUp(run, 'aborted');
      // The agent was killed before it exited: cleanup kept its log.
      expect(existsSync(join((await run.state()).session!.keptLogs!, 'attempt-1', 'agent.log.gz'))).toBe(true);
    });
    await withTask('cancelled', [GOOD], async (run) => {
      await run.until(awaitingApproval);
      await env.client.workflow.getHandle('task-cancelled').cancel();
      await expect(run.client.result('cancelled')).rejects.toThrow();
      expect(git(run.repo, 'rev-parse', 'main')).toBe(run.baseBefore);
      expectCleanedUp(run, 'cancelled');
    });
  });
});
