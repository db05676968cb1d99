// Fairness and priority on the dev server `npm start` runs (fairness on, see
// workers/temporal-dev-server.ts), through the real path: tasks started by SwarmClient.startTask,
// the real task workflow, and its first host activity (loadRepoPolicy) queued on the host's task
// queue, whose worker here has one slot, so the host takes them one at a time in the order the
// server hands them out. No activity runs until every task of a scenario is queued: the order is
// the server's choice alone.
//
// Why the assertions mean something: the control starts the same tasks as startTask did before
// it set a priority (no keys), and the server hands them out first in, first out, the small
// repository's task last of 51. The same holds within one fairness key and one priority level,
// so the hotfix among canaries (all of one repository) would be 11th of 11 without its key.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Context } from '@temporalio/activity';
import type { Priority } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import { taskConfig } from '../../activities/setup.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { hostQueue, loadConfig, type Config } from '../../lib/config.ts';
import { FAIRNESS_KEY_MAX_BYTES, parseTaskSpec, repositoryFairnessKey, taskDisplay, taskWorkflowId, type TaskSpecInput } from '../../workflows/task/spec.ts';
import { tempDir } from '../harness/paths.ts';
import { devServerEnv, workflowBundle } from '../harness/temporal.ts';
import { eventually } from '../harness/task-testbed.ts';

const BIG = '/srv/repos/big';
const SMALL = '/srv/repos/small';
const APP = '/srv/repos/app';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const spec = (id: string, repository: string, extra: Partial<TaskSpecInput> = {}): TaskSpecInput => ({
  id,
  repository,
  title: `Task ${id}`,
  description: 'Queued to see the order the host gets it in.',
  acceptanceCriteria: ['it is dispatched'],
  shape: 'backend',
  agent: 'scripted',
  ...extra,
});

/** A configuration of its own per scenario: its own orchestration and host queues. */
function scenarioConfig(name: string): Config {
  return loadConfig({ env: { SWARM_STATE_DIR: tempDir(`fair-${name}`), SWARM_HOST_ID: `fair-${name}-${process.pid}`, SWARM_ORCHESTRATION_QUEUE: `orchestration-fair-${name}-${process.pid}` } });
}

type Start = (client: SwarmClient, input: TaskSpecInput) => Promise<unknown>;
/** What the client does now. */
const startTask: Start = (client, input) => client.startTask(input);
/** What startTask did before it set a priority: the same start, with no priority. */
const startUnprioritised: Start = async (client, input) => {
  const s = parseTaskSpec(input);
  await client.temporal.workflow.start('task', { taskQueue: client.config.workers.orchestrationQueue, workflowId: taskWorkflowId(s.id), args: [{ spec: s }], memo: { spec: s }, ...taskDisplay(s) });
};

interface Dispatched {
  taskId: string;
  /** The priority the host's activity task carried (inherited from the task's workflow). */
  priority: Priority;
}

/**
 * Starts each batch's tasks in turn, a batch only once the one before has its host activity
 * queued, then lets a host worker with one slot take them: the order it got them in.
 */
async function dispatchOrder(name: string, batches: TaskSpecInput[][], start: Start): Promise<Dispatched[]> {
  const config = scenarioConfig(name);
  const client = SwarmClient.fromClient(env.client, config);
  const total = batches.flat().length;
  // The orchestration side, real workflow code: it runs intake up to the host's first activity.
  const orchestration = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: config.workers.orchestrationQueue,
    workflowBundle,
    activities: { taskConfig: () => Promise.resolve(taskConfig(config, true)) },
  });
  await orchestration.runUntil(async () => {
    for (const batch of batches) {
      for (const input of batch) await start(client, input);
      for (const input of batch) {
        const handle = env.client.workflow.getHandle(taskWorkflowId(input.id));
        await eventually(
          async () => (await handle.describe()).raw.pendingActivities?.map((a) => a.activityType?.name) ?? [],
          (pending) => pending.includes('loadRepoPolicy'),
        );
      }
    }
  });
  // Every host activity is in the server's backlog before any worker asks for one.
  await eventually(
    async () => Number((await env.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: hostQueue(config) }, taskQueueType: 2, reportStats: true })).stats?.approximateBacklogCount ?? 0),
    (backlog) => backlog === total,
  );
  // The server reads its backlog into its matcher a moment after the writes: a poll in that moment
  // would get what was read so far, first in, first out (seen at 0 ms; 500 ms was enough on a quiet
  // machine, 2 s leaves room for a loaded one).
  await sleep(2_000);
  const order: Dispatched[] = [];
  const host = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: hostQueue(config),
    maxConcurrentActivityTaskExecutions: 1,
    activities: {
      // Its result is never read: the orchestration worker has stopped.
      async loadRepoPolicy() {
        const { workflowExecution, priority = {} } = Context.current().info;
        order.push({ taskId: (workflowExecution?.workflowId ?? '?').replace(/^task-/, ''), priority });
        await sleep(20);
        return {};
      },
    },
  });
  await host.runUntil(() => eventually(() => Promise.resolve(order.length), (n) => n === total));
  return order;
}

const positionOf = (order: Dispatched[], taskId: string) => order.findIndex((d) => d.taskId === taskId) + 1;
const big = (prefix: string) => Array.from({ length: 50 }, (_, i) => spec(`${prefix}-big-${i}`, BIG));

describe('a small repository behind 50 tasks of a big one', () => {
  it('waits for all 50 without keys: the queue is first in, first out', async () => {
    const order = await dispatchOrder('fifo', [big('fifo'), [spec('fifo-small', SMALL)]], startUnprioritised);
    const small = positionOf(order, 'fifo-small');
    process.stdout.write(`no keys: the small repository's task was dispatched ${small} of ${order.length}\n`);
    expect(small).toBe(51);
    expect(order.every((d) => !d.priority.fairnessKey && !d.priority.priorityKey)).toBe(true);
  });

  it("goes within the first few when startTask sets the repository as the fairness key, and the host's activity carries the workflow's keys", async () => {
    const order = await dispatchOrder('fair', [big('fair'), [spec('fair-small', SMALL)]], startTask);
    const small = positionOf(order, 'fair-small');
    process.stdout.write(`fairness: the small repository's task was dispatched ${small} of ${order.length}\n`);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThanOrEqual(3);
    // Activities inherit the workflow's priority: nothing in the task workflow sets it.
    expect(order.find((d) => d.taskId === 'fair-small')!.priority).toMatchObject({ priorityKey: 3, fairnessKey: SMALL });
    expect(order.filter((d) => d.taskId !== 'fair-small').every((d) => d.priority.fairnessKey === BIG && d.priority.priorityKey === 3)).toBe(true);
  });
});

describe('a hotfix queued after canaries of the same repository', () => {
  it('goes first', async () => {
    const canaries = Array.from({ length: 10 }, (_, i) => spec(`canary-${i}`, APP, { priority: 'canary' }));
    const order = await dispatchOrder('priority', [canaries, [spec('the-hotfix', APP, { priority: 'hotfix' })]], startTask);
    const hotfix = positionOf(order, 'the-hotfix');
    process.stdout.write(`priority: the hotfix was dispatched ${hotfix} of ${order.length}\n`);
    expect(hotfix).toBeGreaterThan(0);
    expect(hotfix).toBeLessThanOrEqual(2);
    expect(order.find((d) => d.taskId === 'the-hotfix')!.priority).toMatchObject({ priorityKey: 1, fairnessKey: APP });
    expect(order.filter((d) => d.taskId !== 'the-hotfix').every((d) => d.priority.priorityKey === 5)).toBe(true);
  });
});

describe('startTask', () => {
  it("starts the workflow with the spec's priority key and the repository as its fairness key, cut to 64 bytes", async () => {
    const client = SwarmClient.fromClient(env.client, scenarioConfig('start'));
    // 110 bytes (each ü is 2): the server refuses a fairness key over 64.
    const deep = `/srv/${'ü/'.repeat(20)}${'d'.repeat(40)}/calc`;
    const cases: Array<[TaskSpecInput, Priority]> = [
      [spec('start-default', '/srv/repos/calc'), { priorityKey: 3, fairnessKey: '/srv/repos/calc' }],
      [spec('start-hotfix', 'Acme/Calc', { priority: 'hotfix' }), { priorityKey: 1, fairnessKey: 'acme/calc' }],
      [spec('start-low', '/srv/repos/calc', { priority: 'low' }), { priorityKey: 4, fairnessKey: '/srv/repos/calc' }],
      [spec('start-deep', deep, { priority: 'high' }), { priorityKey: 2, fairnessKey: repositoryFairnessKey(deep) }],
    ];
    for (const [input, expected] of cases) {
      expect((await client.startTask(input)).started).toBe(true);
      const described = await env.client.workflow.getHandle(taskWorkflowId(input.id)).describe();
      expect(described.priority).toMatchObject(expected);
    }
    expect(Buffer.byteLength(repositoryFairnessKey(deep))).toBeLessThanOrEqual(FAIRNESS_KEY_MAX_BYTES);
    expect(repositoryFairnessKey(deep).endsWith('/calc')).toBe(true);
  });
});
