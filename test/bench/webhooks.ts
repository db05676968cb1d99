// Webhook-to-workflow reaction time: one real task workflow waiting at its approval gate (dev
// server, embedded Postgres, instant scripted agent), the real webhook server whose `signal` is
// `temporalSignal(client)`, and N signed `pull_request` `synchronize` deliveries for the task's
// branch `swarm/<id>`, sent one at a time. Per delivery:
//   http      POST sent → the server's answer (signature check, routing, the signal RPC)
//   signaled  POST sent → the workflow's history shows one more event (describe() polled in a
//             tight loop from the moment the POST is sent: the WorkflowExecutionSignaled event)
//   reacted   WorkflowExecutionSignaled → the next WorkflowTaskCompleted (server timestamps from
//             the history): the workflow ran its forgeEvent handler.
// A local-repository task's repository is a path, never an `owner/name`, so the workflow's handler
// ignores the event's content (it counts only events for its own repository); the signal, the
// workflow task and the handler run all the same, which is what is measured here.
import { createHmac, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { Notifier } from '../../activities/notify/notifier.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { createWebhookServer, temporalSignal } from '../../workers/webhooks/index.ts';
import { taskWorkflowId } from '../../workflows/task/spec.ts';
import { TERMINAL_STATUSES } from '../../workflows/task/types.ts';
import { sampleRepo } from '../harness/task-testbed.ts';
import { progress, seconds, sleep } from './util.ts';
import { benchSection, startBenchWorld, type Cleanup } from './world.ts';

const TASK_ID = 'bench-webhooks';
const SECRET = 'bench-webhook-secret';
const READY_TIMEOUT_MS = 120_000;
const SEEN_TIMEOUT_MS = 10_000;

export interface WebhookDelivery {
  httpMs: number;
  httpStatus: number;
  signaledMs: number;
  reactedMs: number;
}

export interface WebhooksResult {
  n: number;
  setupMs: number;
  deliveries: WebhookDelivery[];
  /** History length of the workflow before and after the deliveries. */
  historyBefore: number;
  historyAfter: number;
}

interface JsonEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
}

/** Milliseconds since the epoch with the sub-millisecond part of RFC 3339 nanoseconds. */
function eventMs(e: JsonEvent): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(e.eventTime);
  if (!m) return Date.parse(e.eventTime);
  return Date.parse(`${m[1]}Z`) + Number(`0.${m[2] ?? '0'}`) * 1000;
}

function delivery(n: number): { body: string; headers: Record<string, string> } {
  const sha = createHmac('sha1', 'bench').update(String(n)).digest('hex');
  const payload = {
    action: 'synchronize',
    number: 1,
    pull_request: { number: 1, head: { ref: `swarm/${TASK_ID}`, sha, repo: { id: 4242 } } },
    repository: { id: 4242, full_name: 'bench/webhooks' },
  };
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    },
  };
}


export async function benchWebhooks({ n, keep = false, onCleanup }: { n: number; keep?: boolean; onCleanup: (fn: Cleanup) => () => void }): Promise<WebhooksResult> {
  const { defer, cleanUp, logger, dir } = benchSection('webhooks', { keep, onCleanup });
  try {
    const setupStarted = performance.now();
    const notifier: Notifier = { send: () => Promise.resolve() };
    const { env, config, orchestration, host } = await startBenchWorld({ dir, id: `benchwh${process.pid}`, approver: 'bench', notifier, logger, defer, label: 'webhooks' });

    const repo = sampleRepo({ ci: [{ name: 'check', command: 'true' }], scenario: [{ files: { 'bench.txt': 'webhooks\n' }, commit: 'bench: webhooks' }] });
    if (!keep) defer(() => rmSync(dirname(repo), { recursive: true, force: true }));
    const client = SwarmClient.fromClient(env.client, config);

    const webhooks = await createWebhookServer({ secret: SECRET, port: 0, signal: temporalSignal(env.client), logger });
    defer(() => webhooks.close());
    const handle = env.client.workflow.getHandle(taskWorkflowId(TASK_ID));

    let result: WebhooksResult | undefined;
    await orchestration.runUntil(
      host.runUntil(async () => {
        progress('webhooks: running a task to its approval gate');
        await client.startTask({ id: TASK_ID, repository: repo, title: 'Webhook bench', description: 'Write bench.txt.', acceptanceCriteria: ['bench.txt exists'], shape: 'backend', agent: 'scripted' });
        const deadline = performance.now() + READY_TIMEOUT_MS;
        for (;;) {
          const state = await client.getTask(TASK_ID).catch(() => undefined);
          if (state?.status === 'awaiting_approval' && state.dod?.readyForApproval) break;
          if (state && (TERMINAL_STATUSES.includes(state.status) || state.status === 'needs_human')) throw new Error(`task ${TASK_ID} is ${state.status} at ${state.step}`);
          if (performance.now() > deadline) throw new Error(`task ${TASK_ID} not at its approval gate in ${seconds(READY_TIMEOUT_MS)}`);
          await sleep(100);
        }
        // Let the gate settle (the workflow task that reported readiness has completed).
        await sleep(500);
        const setupMs = performance.now() - setupStarted;
        const historyBefore = (await handle.describe()).historyLength;

        progress(`webhooks: ${n} signed pull_request deliveries, one at a time`);
        const client_: Array<Omit<WebhookDelivery, 'reactedMs'>> = [];
        let length = historyBefore;
        for (let i = 0; i < n; i++) {
          const { body, headers } = delivery(i);
          const before = length;
          const t0 = performance.now();
          const post = fetch(webhooks.url, { method: 'POST', headers, body }).then(async (res) => {
            await res.text();
            return { status: res.status, ms: performance.now() - t0 };
          });
          let signaledMs: number | undefined;
          while (signaledMs === undefined) {
            const now = (await handle.describe()).historyLength;
            if (now > before) {
              signaledMs = performance.now() - t0;
              length = now;
            } else if (performance.now() - t0 > SEEN_TIMEOUT_MS) {
              throw new Error(`delivery ${i}: no new history event ${SEEN_TIMEOUT_MS} ms after the POST (HTTP ${JSON.stringify(await post)})`);
            }
          }
          const http = await post;
          if (http.status !== 200) throw new Error(`delivery ${i}: the webhook server answered ${http.status}, not 200`);
          client_.push({ httpMs: http.ms, httpStatus: http.status, signaledMs });
          // The next delivery starts once this one's workflow task is done (history settles).
          for (let settled = 0; settled < 200; settled++) {
            const now = (await handle.describe()).historyLength;
            if (now === length && settled > 0) break;
            length = now;
            await sleep(5);
          }
        }

        // Server-side: each WorkflowExecutionSignaled → the next WorkflowTaskCompleted.
        const events = (JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: JsonEvent[] }).events;
        const reacted: number[] = [];
        events.forEach((e, i) => {
          if (e.eventType !== 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED' || Number(e.eventId) <= historyBefore) return;
          const done = events.slice(i + 1).find((x) => x.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED');
          reacted.push(done ? eventMs(done) - eventMs(e) : NaN);
        });
        if (reacted.length !== n) throw new Error(`expected ${n} WorkflowExecutionSignaled events in the history, found ${reacted.length}`);
        result = {
          n,
          setupMs,
          deliveries: client_.map((d, i) => ({ ...d, reactedMs: reacted[i]! })),
          historyBefore,
          historyAfter: events.length,
        };
      }),
    );
    await handle.terminate('webhook bench done').catch(() => undefined);
    return result!;
  } finally {
    progress('webhooks: stopping the webhook server, dev server and Postgres');
    await cleanUp();
  }
}
