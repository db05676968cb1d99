// How a task stops, and what an operator's decision can still change: a reject during the merge is
// refused (not reported and then ignored), an abort kills a slow reviewer instead of waiting for it,
// a reviewer slower than the heartbeat timeout runs once, a host nobody serves goes to a human, and
// a failure names the step it happened at. Time-skipping server, real activities, git, tmux, Postgres.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { InvalidMessageError, SwarmClient, TaskEndedError } from '../../client/swarm-client.ts';
import { abortSignal, decideUpdate, retrySignal } from '../../workflows/task/messages.ts';
import { parseTaskSpec, taskWorkflowId } from '../../workflows/task/spec.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { task } from '../../workflows/task/workflow.ts';
import { SwarmStatus, SwarmStep } from '../../workflows/search-attributes.ts';
import { devServerEnv, timeSkippingEnv } from '../harness/temporal.ts';
import { recordHistory } from '../harness/histories.ts';
import { tempDir } from '../harness/paths.ts';
import { createTestbed, eventually, featureSpec, FEATURE_DONE, git, sampleRepo, type Testbed, type TestbedOverrides } from '../harness/task-testbed.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** A testbed on a fresh sample repository; `body` gets the client and the task's state reader. */
async function onTestbed(overrides: TestbedOverrides, body: (t: { bed: Testbed; client: SwarmClient; repo: string; state: (id: string) => Promise<TaskState> }) => Promise<void>): Promise<void> {
  const repo = sampleRepo({ scenario: [FEATURE_DONE] });
  const bed = await createTestbed(env, overrides);
  const client = SwarmClient.fromClient(env.client, bed.config);
  try {
    await bed.run(() => body({ bed, client, repo, state: (id) => client.getTask(id) }));
  } finally {
    await bed.teardown();
  }
}

/** A reviewer that writes its pid and a line per run, sleeps, then finds nothing. */
/**
 * A reviewer that counts its runs and says its pid in files outside its checkout: what its sandbox
 * forbids (and its pid there is its own namespace's), so the tests that use it run it unsandboxed.
 */
const UNSANDBOXED = { host: { sandbox: 'off' as const } };
function slowReviewer(dir: string, sleepSeconds: number) {
  const runs = join(dir, 'reviewer-runs');
  const pid = join(dir, 'reviewer-pid');
  const command = ['sh', '-c', `echo run >> '${runs}'; echo $$ > '${pid}'; cat > /dev/null; sleep ${sleepSeconds}; echo '{"findings": []}'`];
  return { reviewer: { name: 'slow', command, timeout: '10m' }, runs: () => (existsSync(runs) ? readFileSync(runs, 'utf8').trim().split('\n').length : 0), pid: () => Number(readFileSync(pid, 'utf8')) };
}

/** The task's notes without their timestamps. */
const notes = (s: TaskState) => s.notes.map((n) => n.slice(n.indexOf(' ') + 1));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('stopping a task', () => {
  it('refuses a reject that arrives while the merge runs, and the merge it could not stop completes', async () => {
    await onTestbed({}, async ({ client, repo, state }) => {
      await client.startTask(featureSpec('late-reject', repo));
      await eventually(() => state('late-reject'), (s) => s.status === 'awaiting_approval');
      // A lock on the base makes the merge fail and retry: a slow merge, as after a worker crash.
      const lock = join(repo, '.git', 'refs', 'heads', 'main.lock');
      writeFileSync(lock, '');
      // The approval answers once it has taken effect: here, when the merge it started completes.
      const approval = client.decide('late-reject', { decision: 'approve', by: 'alice' });
      await eventually(() => state('late-reject'), (s) => notes(s).some((n) => n.startsWith('approved by alice')));
      const refusal = client.decide('late-reject', { decision: 'reject', by: 'alice', reason: 'too late' });
      await expect(refusal).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(refusal).rejects.toMatchObject({ cause: { message: 'rejection refused: the merge is already under way' } });
      await expect(client.abort('late-reject', { by: 'bob' })).rejects.toMatchObject({ cause: { message: 'abort refused: the merge is already under way' } });
      // The signal, which cannot answer, is refused the same way and says so in the notes.
      await env.client.workflow.getHandle('task-late-reject').signal(abortSignal, { by: 'bob' });
      await eventually(() => state('late-reject'), (s) => notes(s).includes('abort by bob refused: the merge is already under way'));
      rmSync(lock);
      expect(await approval).toMatchObject({ status: 'merged', step: 'done' });
      expect(await client.result('late-reject')).toMatchObject({ status: 'merged' });
      expect(git(repo, 'show', 'main:feature.txt')).toBe('done');
      await recordHistory(env.client, 'task-late-reject', 'time-skipping-late-reject');
    });
  });

  it("a merge the base's checkout is in the way of goes to a human, not to failure; a retry verifies again and asks again", async () => {
    await onTestbed({}, async ({ client, repo, state }) => {
      await client.startTask(featureSpec('in-the-way', repo));
      await eventually(() => state('in-the-way'), (s) => s.status === 'awaiting_approval');
      // The operator's scratch file where the merge would write: git will not overwrite it.
      writeFileSync(join(repo, 'feature.txt'), 'my scratch notes\n');
      const answered = await client.decide('in-the-way', { decision: 'approve', by: 'alice' });
      expect(answered).toMatchObject({ status: 'needs_human', step: 'human_gate' });
      expect(answered.decision).toBeUndefined();
      expect(answered.blocker).toMatch(/^the approved merge could not update the base: the base branch "main" is checked out in .* and git could not update that working tree .*feature\.txt.*: move the files in the way; approval needed again after a retry$/s);
      expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('my scratch notes\n');
      rmSync(join(repo, 'feature.txt'));
      await client.retry('in-the-way', 'moved my notes');
      await eventually(() => state('in-the-way'), (s) => s.status === 'awaiting_approval');
      expect(await client.decide('in-the-way', { decision: 'approve', by: 'alice' })).toMatchObject({ status: 'merged' });
      expect(git(repo, 'show', 'main:feature.txt')).toBe('done');
      await recordHistory(env.client, 'task-in-the-way', 'time-skipping-base-in-the-way');
    });
  });

  it('an abort during a slow review kills the reviewer and ends the task at once', async () => {
    const slow = slowReviewer(tempDir('slow-reviewer'), 600);
    await onTestbed({ reviewers: [slow.reviewer], ...UNSANDBOXED }, async ({ client, repo, state }) => {
      await client.startTask(featureSpec('abort-review', repo));
      await eventually(() => state('abort-review'), (s) => s.step === 'review' && slow.runs() === 1);
      const reviewer = slow.pid();
      expect(alive(reviewer)).toBe(true);
      await client.abort('abort-review', { by: 'op', reason: 'not needed' });
      expect(await client.result('abort-review')).toMatchObject({ status: 'aborted', note: 'aborted by op: not needed' });
      await eventually(() => Promise.resolve(alive(reviewer)), (a) => !a, 10_000);
      expect(slow.runs()).toBe(1);
      expect(git(repo, 'branch', '--list', 'swarm/abort-review')).toBe('');
      await recordHistory(env.client, 'task-abort-review', 'time-skipping-abort-review');
    });
  });

  it('a reviewer slower than the heartbeat timeout runs once, and its verdict counts', async () => {
    const slow = slowReviewer(tempDir('slow-reviewer'), 25);
    await onTestbed({ reviewers: [slow.reviewer], ...UNSANDBOXED }, async ({ client, repo, state }) => {
      await client.startTask(featureSpec('slow-review', repo));
      const waiting = await eventually(() => state('slow-review'), (s) => s.status === 'awaiting_approval', 90_000);
      expect(waiting.checks.review?.results).toEqual([{ reviewer: 'slow', status: 'ok', findings: [] }]);
      expect(slow.runs()).toBe(1);
      await client.abort('slow-review');
      await client.result('slow-review');
    });
  }, 120_000);
});

describe("an operator's message says what it did, and none fails the task", () => {
  it('retry and abort answer with what the task does, or refuse with the reason', async () => {
    await onTestbed({}, async ({ client, repo, state }) => {
      await client.startTask(featureSpec('steered', repo));
      await eventually(() => state('steered'), (s) => s.status === 'awaiting_approval');
      await expect(client.retry('steered', 'try harder')).rejects.toMatchObject({ cause: { message: 'retry refused: the task is not waiting for a human' } });
      // Text a task cannot carry is refused before it is sent, and by the workflow when sent anyway.
      await expect(client.retry('steered', 'a\u0000b')).rejects.toThrow(InvalidMessageError);
      await expect(client.decide('steered', { decision: 'approve', by: 'alice', comment: 'x'.repeat(60_000) })).rejects.toMatchObject({ problem: 'comment is 60000 characters long, more than 10000' });
      const handle = env.client.workflow.getHandle('task-steered');
      await expect(handle.executeUpdate(decideUpdate, { args: [{ decision: 'reject', by: 'alice', reason: ' \u0007 ' }] })).rejects.toMatchObject({
        cause: { message: 'rejection refused: reason holds a control character other than tab or line break, or broken Unicode' },
      });
      await handle.signal(retrySignal, { guidance: '\u0000', by: 'alice' });
      await handle.signal(abortSignal, { reason: 'z'.repeat(60_000) });
      await eventually(() => state('steered'), (s) => notes(s).includes('abort refused: reason is 60000 characters long, more than 10000'));
      const still = await state('steered');
      expect(still.status).toBe('awaiting_approval');
      expect(notes(still)).toContain('retry refused: guidance holds a control character other than tab or line break, or broken Unicode');

      expect(await client.abort('steered', { by: 'op', reason: 'changed plans' })).toEqual({ detail: 'abort accepted: the task stops what runs and cleans up (PR closed, worktree, session and branch removed)' });
      expect(await client.result('steered')).toMatchObject({ status: 'aborted', note: 'aborted by op: changed plans' });
      await expect(client.abort('steered')).rejects.toThrow(new TaskEndedError('steered', 'aborted', 'abort'));
      await expect(client.abort('steered')).rejects.toThrow('abort refused: task steered has ended (aborted)');
      await recordHistory(env.client, 'task-steered', 'time-skipping-steered');
    });
  });
});

describe('a failure names its step', () => {
  it('a repository that does not exist fails at intake, and says so', async () => {
    await onTestbed({}, async ({ client }) => {
      const missing = join(tempDir('gone'), 'no-such-repo');
      await client.startTask(featureSpec('no-repo', missing));
      // The workflow closes as failed, with the task's result in the failure: result() gives it back.
      expect(await client.result('no-repo')).toMatchObject({ status: 'failed', note: expect.stringMatching(/^failed at intake: .*does not exist/) });
      const err: unknown = await env.client.workflow.getHandle('task-no-repo').result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause?.message).toMatch(/^task no-repo failed at intake: /);
      const done = await client.getTask('no-repo');
      expect(done.status).toBe('failed');
      expect(notes(done).at(-1)).toMatch(/^failed at intake: /);
      // The Web UI's current details tick no step and say why at intake.
      const { currentDetails } = await env.client.workflow.getHandle('task-no-repo').query<{ currentDetails: string }>('__temporal_workflow_metadata');
      expect(currentDetails).toMatch(/\n- ❌ 1\. Intake & scope — failed at intake: .*does not exist/);
      expect(currentDetails).toContain('- ⬜ 2. Prompt synthesis');
      expect(currentDetails).not.toContain('✅');
      expect(currentDetails).toMatch(/\n\*\*Outcome\*\*: failed at intake: repository \S+ does not exist\n/);
    });
  });
});

// A step waiting on a queue holds the time-skipping server's clock: this one runs on the dev server.
describe('a host nobody serves', () => {
  let dev: TestWorkflowEnvironment;
  beforeAll(async () => {
    dev = await devServerEnv();
  });
  afterAll(async () => {
    await dev?.teardown();
  });

  it('goes to a human with that reason, and retry asks the host again', async () => {
    const repo = sampleRepo({ scenario: [FEATURE_DONE] });
    const bed = await createTestbed(dev, { tasks: { hostUnansweredTimeout: '2s' } });
    const client = SwarmClient.fromClient(dev.client, bed.config);
    try {
      await bed.run(async () => {
        // Past the client's own check (a worker may die after the start): straight to the workflow.
        const spec = parseTaskSpec(featureSpec('no-host', repo, { host: 'no-such-host' }));
        await dev.client.workflow.start(task, { taskQueue: bed.config.workers.orchestrationQueue, workflowId: taskWorkflowId(spec.id), args: [{ spec }] });
        const unanswered = (s: TaskState) => notes(s).filter((n) => n.startsWith('needs a human: no worker')).length;
        const waiting = await eventually(() => client.getTask('no-host'), (s) => s.status === 'needs_human');
        expect(waiting.step).toBe('intake');
        expect(notes(waiting).at(-1)).toBe("needs a human: no worker of swarm-host-no-such-host picked up loadRepoPolicy within 2s: start the host's worker (or fix its SWARM_HOST_ID)");
        await client.retry('no-host', 'the host is back');
        await eventually(() => client.getTask('no-host'), (s) => s.status === 'needs_human' && unanswered(s) === 2);
        await client.abort('no-host', { by: 'op' });
        expect(await client.result('no-host')).toMatchObject({ status: 'aborted', note: 'aborted by op' });
        await recordHistory(dev.client, 'task-no-host', 'dev-server-no-host');
      });
    } finally {
      await bed.teardown();
    }
  });

  it('a task that fails at intake carries its status and step in the search attributes', async () => {
    const bed = await createTestbed(dev);
    const client = SwarmClient.fromClient(dev.client, bed.config);
    await bed.run(async () => {
      await client.startTask(featureSpec('gone-repo', join(tempDir('gone'), 'no-such-repo')));
      expect(await client.result('gone-repo')).toMatchObject({ status: 'failed' });
      const described = await dev.client.workflow.getHandle('task-gone-repo').describe();
      expect(described.status.name).toBe('FAILED');
      expect(described.typedSearchAttributes.get(SwarmStatus)).toBe('failed');
      expect(described.typedSearchAttributes.get(SwarmStep)).toBe('done');
      await recordHistory(dev.client, 'task-gone-repo', 'dev-server-intake-failed');
    });
    await bed.teardown();
  });

  it('the client refuses to start a task on it, naming the field', async () => {
    const bed = await createTestbed(dev);
    const client = SwarmClient.fromClient(dev.client, bed.config);
    await bed.run(async () => {
      const repo = sampleRepo({ scenario: [FEATURE_DONE] });
      await expect(client.startTask(featureSpec('refused-host', repo, { host: 'no-such-host' }))).rejects.toMatchObject({ problems: [expect.stringMatching(/^host: no worker serves host "no-such-host"/)] });
      // The testbed's own host is served, once its worker has polled.
      await eventually(() => client.pollers(), (queues) => queues.some((q) => q.kind === 'host' && q.pollers > 0));
      await expect(client.startTask(featureSpec('served-host', repo, { host: bed.config.workers.hostId }))).resolves.toMatchObject({ started: true });
      await client.abort('served-host');
      expect(await client.result('served-host')).toMatchObject({ status: 'aborted' });
    });
    await bed.teardown();
  });
});
