// The webhook endpoint over real HTTP, fed GitHub's example payloads (@octokit/webhooks-examples),
// each validated against GitHub's webhook schemas (@octokit/openapi-webhooks) before use and
// signed the way GitHub signs (@octokit/webhooks-methods). The last part signals through a real
// Temporal dev server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { sign } from '@octokit/webhooks-methods';
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SwarmLogger } from '../../lib/logger.ts';
import { createWebhookServer, temporalSignal, temporalTasksOf, type ForgeEvent, type IntakeFn, type WebhookServer, type WebhookServerOptions } from '../../workers/webhooks/index.ts';
import { devServerEnv } from '../harness/temporal.ts';

const require = createRequire(import.meta.url);
interface MiniPr {
  number: number;
  head: { ref: string; sha: string };
}
/** The fields of GitHub's payloads that the tests read or change; the rest passes through. */
interface Payload {
  [field: string]: unknown;
  action?: string;
  sha?: string;
  ref?: string;
  after?: string;
  pull_request?: { number: number; head: { ref: string; sha: string; label: string; user: { login: string } } };
  check_run?: { head_sha: string; pull_requests: MiniPr[]; check_suite: { head_branch: string | null } };
  check_suite?: { head_sha: string; head_branch: string | null; pull_requests: MiniPr[] };
  branches?: Array<{ name: string; commit: { sha: string } }>;
}
const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Payload[] }>;
const webhooksSpec = require('@octokit/openapi-webhooks/generated/api.github.com.json') as { components: object };

// ---- GitHub's example payloads, checked against GitHub's schemas -----------------------------

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: 'github-webhooks', components: webhooksSpec.components });

function schemaFor(event: string, action: string | undefined): ValidateFunction {
  const name = `webhook-${event.replace(/_/g, '-')}${action ? `-${action.replace(/_/g, '-')}` : ''}`;
  const validate = ajv.getSchema(`github-webhooks#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in @octokit/openapi-webhooks`);
  return validate;
}

/**
 * Fields GitHub made required after the examples were recorded, and the value it now sends when
 * the feature is unused. An example whose only faults are these gets them added; any other fault
 * and the example is not used.
 */
const ADDED_SINCE: Record<string, unknown> = { has_discussions: false, verified_at: null };

type Json = Record<string, unknown>;
function at(root: Json, pointer: string): Json {
  return pointer.split('/').slice(1).reduce<Json>((node, key) => node[key.replace(/~1/g, '/').replace(/~0/g, '~')] as Json, root);
}

/** The example as GitHub would send it today, or the schema errors that make it unusable. */
function upToDate(event: string, example: Payload): { payload: Payload; added: string[] } | { errors: ErrorObject[] } {
  const validate = schemaFor(event, example.action);
  const payload = structuredClone(example);
  const added = new Set<string>();
  for (let round = 0; round < 5 && !validate(payload); round++) {
    const errors = validate.errors ?? [];
    const fixable = errors.filter((e) => e.keyword === 'required' && (e.params as { missingProperty: string }).missingProperty in ADDED_SINCE);
    // oneOf/anyOf wrappers report their branches' errors too; those settle once the branch is fixed.
    if (fixable.length === 0 || errors.some((e) => e.keyword !== 'required' && e.keyword !== 'oneOf' && e.keyword !== 'anyOf')) return { errors };
    for (const e of fixable) {
      const field = (e.params as { missingProperty: string }).missingProperty;
      at(payload, e.instancePath)[field] = ADDED_SINCE[field];
      added.add(field);
    }
  }
  return validate(payload) ? { payload, added: [...added] } : { errors: validate.errors ?? [] };
}

/** The first example of this event and action that is (or, per ADDED_SINCE, becomes) valid. */
function exampleWithChanges(event: string, action?: string): { payload: Payload; added: string[] } {
  const candidates = examples.find((e) => e.name === event)?.examples.filter((p) => p.action === action) ?? [];
  for (const candidate of candidates) {
    const result = upToDate(event, candidate);
    if ('payload' in result) return result;
  }
  throw new Error(`no example of ${event}${action ? `.${action}` : ''} passes GitHub's schema`);
}
const example = (event: string, action?: string): Payload => exampleWithChanges(event, action).payload;

/** The commit and PR a signal about this payload names. */
function headOf(event: string, p: Payload): { headSha: string; prNumber?: number } {
  switch (event) {
    case 'pull_request':
    case 'pull_request_review':
      return { headSha: p.pull_request!.head.sha, prNumber: p.pull_request!.number };
    case 'check_run':
      return { headSha: p.check_run!.head_sha, prNumber: p.check_run!.pull_requests[0]?.number };
    case 'check_suite':
      return { headSha: p.check_suite!.head_sha, prNumber: p.check_suite!.pull_requests[0]?.number };
    default:
      return { headSha: p.sha! };
  }
}

/** Asserts a payload we changed is still a valid one. */
function valid(event: string, payload: Payload): Payload {
  const validate = schemaFor(event, payload.action);
  if (!validate(payload)) throw new Error(`${event} no longer matches GitHub's schema: ${ajv.errorsText(validate.errors)}`);
  return payload;
}

/** The example, moved onto the task's branch `swarm/<taskId>` everywhere it names its branch. */
function onTaskBranch(event: string, source: Payload, taskId: string): Payload {
  const payload = structuredClone(source);
  const branch = `swarm/${taskId}`;
  switch (event) {
    case 'pull_request':
    case 'pull_request_review': {
      const head = payload.pull_request!.head;
      head.ref = branch;
      head.label = `${head.user.login}:${branch}`;
      break;
    }
    case 'check_run':
      for (const pr of payload.check_run!.pull_requests) pr.head.ref = branch;
      payload.check_run!.check_suite.head_branch = branch;
      break;
    case 'check_suite':
      for (const pr of payload.check_suite!.pull_requests) pr.head.ref = branch;
      payload.check_suite!.head_branch = branch;
      break;
    case 'status': {
      // The branch whose head is the commit the status is for.
      const target = payload.branches![1]!;
      target.name = branch;
      target.commit.sha = payload.sha!;
      break;
    }
  }
  return valid(event, payload);
}

// ---- the server under test -------------------------------------------------------------------

const SECRET = 'test-webhook-secret';
const logger = new SwarmLogger({ level: 'ERROR', format: 'json' });

interface Harness {
  server: WebhookServer;
  calls: Array<[string, ForgeEvent]>;
}

async function startServer(signal?: (workflowId: string, event: ForgeEvent) => Promise<void>, extra: Partial<WebhookServerOptions> = {}): Promise<Harness> {
  const calls: Harness['calls'] = [];
  const server = await createWebhookServer({
    secret: SECRET,
    port: 0,
    logger,
    signal: async (workflowId, event) => {
      calls.push([workflowId, event]);
      await signal?.(workflowId, event);
    },
    ...extra,
  });
  return { server, calls };
}

let deliveries = 0;

async function deliver(url: string, event: string, body: string | Buffer, { secret = SECRET, signature, headers = {} }: { secret?: string; signature?: string | null; headers?: Record<string, string> } = {}) {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const sig = signature === null ? undefined : (signature ?? (await sign(secret, text)));
  const delivery = `0000000${++deliveries}-0000-0000-0000-000000000000`;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': delivery,
      ...(sig ? { 'x-hub-signature-256': sig } : {}),
      ...headers,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, delivery };
}

const CASES = [
  { event: 'pull_request', action: 'opened', label: 'pull_request.opened', kind: 'pull_request' },
  { event: 'pull_request', action: 'synchronize', label: 'pull_request.synchronize', kind: 'pull_request' },
  { event: 'pull_request', action: 'closed', label: 'pull_request.closed', kind: 'pull_request' },
  { event: 'pull_request_review', action: 'submitted', label: 'pull_request_review.submitted', kind: 'review' },
  { event: 'check_run', action: 'completed', label: 'check_run.completed', kind: 'check' },
  { event: 'check_run', action: 'created', label: 'check_run.created', kind: 'check' },
  { event: 'check_suite', action: 'completed', label: 'check_suite.completed', kind: 'check' },
  { event: 'status', action: undefined, label: 'status', kind: 'status' },
] as const;

describe('webhook endpoint, GitHub example payloads over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startServer();
  });
  afterAll(() => h.server.close());
  const fresh = () => h.calls.splice(0);

  it("uses GitHub's examples as they are, or with only the fields GitHub has made required since", () => {
    const changes = Object.fromEntries(CASES.map(({ event, action, label }) => [label, exampleWithChanges(event, action).added]));
    expect(changes).toEqual({
      'pull_request.opened': [],
      'pull_request.synchronize': ['has_discussions'],
      'pull_request.closed': [],
      'pull_request_review.submitted': ['has_discussions'],
      'check_run.completed': [],
      'check_run.created': [],
      'check_suite.completed': [],
      status: ['verified_at'],
    });
  });

  it('listens on 127.0.0.1 at /webhooks/github', () => {
    expect(h.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/github$/);
  });

  it.each(CASES)('$label → a $kind signal to the task of the branch', async ({ event, action, kind }) => {
    fresh();
    const source = example(event, action);
    const payload = onTaskBranch(event, source, 'add-multiply');
    const res = await deliver(h.server.url, event, JSON.stringify(payload));
    expect(res).toMatchObject({ status: 200, body: { signalled: ['task-add-multiply'] } });

    const { headSha, prNumber } = headOf(event, payload);
    const expected: ForgeEvent = { kind, repository: 'Codertocat/Hello-World', deliveryId: res.delivery, headSha };
    if (action) expected.action = action;
    if (prNumber !== undefined) expected.prNumber = prNumber;
    expect(fresh()).toEqual([['task-add-multiply', expected]]);
  });

  it.each(CASES)('$label on a branch that is no task’s (the example as is) → 202, no signal', async ({ event, action }) => {
    fresh();
    const res = await deliver(h.server.url, event, JSON.stringify(example(event, action)));
    expect(res.status).toBe(202);
    expect(fresh()).toEqual([]);
  });

  it('swarm/<not a slug> → 202, no signal', async () => {
    fresh();
    const payload = example('pull_request', 'opened');
    payload.pull_request!.head.ref = 'swarm/Not_A_Slug';
    expect((await deliver(h.server.url, 'pull_request', JSON.stringify(valid('pull_request', payload)))).status).toBe(202);
    expect(fresh()).toEqual([]);
  });

  it('a status on a commit that is no longer the task branch’s head → 202, no signal', async () => {
    fresh();
    const payload = structuredClone(example('status'));
    payload.branches![1]!.name = 'swarm/add-multiply'; // contains the commit, head elsewhere
    expect((await deliver(h.server.url, 'status', JSON.stringify(valid('status', payload)))).status).toBe(202);
    expect(fresh()).toEqual([]);
  });

  it('ping → 200, no signal', async () => {
    fresh();
    for (const [i, payload] of examples.find((e) => e.name === 'ping')!.examples.entries()) {
      const res = await deliver(h.server.url, 'ping', JSON.stringify(valid('ping', payload)));
      expect([i, res.status]).toEqual([i, 200]);
    }
    expect(fresh()).toEqual([]);
  });

  it('events not used (issues, issue_comment, workflow_run), and a push of a tag → 202, no signal', async () => {
    fresh();
    for (const name of ['push', 'issues', 'issue_comment', 'workflow_run']) {
      const payload = examples.find((e) => e.name === name)!.examples[0]!;
      expect([name, (await deliver(h.server.url, name, JSON.stringify(payload))).status]).toEqual([name, 202]);
    }
    expect(fresh()).toEqual([]);
  });

  describe('signatures', () => {
    const body = () => JSON.stringify(onTaskBranch('pull_request', example('pull_request', 'synchronize'), 'add-multiply'));

    it('forged (the body changed after signing) → 401, no signal', async () => {
      fresh();
      const signed = body();
      const signature = await sign(SECRET, signed);
      const res = await deliver(h.server.url, 'pull_request', signed.replace('"swarm/add-multiply"', '"swarm/other-task"'), { signature });
      expect(res.status).toBe(401);
      expect(fresh()).toEqual([]);
    });

    it('missing → 401, no signal', async () => {
      fresh();
      expect((await deliver(h.server.url, 'pull_request', body(), { signature: null })).status).toBe(401);
      expect(fresh()).toEqual([]);
    });

    it('made with another secret → 401, no signal', async () => {
      fresh();
      expect((await deliver(h.server.url, 'pull_request', body(), { secret: 'not-the-secret' })).status).toBe(401);
      expect(fresh()).toEqual([]);
    });

    it('the legacy SHA-1 header alone → 401, no signal', async () => {
      fresh();
      expect((await deliver(h.server.url, 'pull_request', body(), { signature: null, headers: { 'x-hub-signature': `sha1=${'0'.repeat(40)}` } })).status).toBe(401);
      expect(fresh()).toEqual([]);
    });

    it('is checked before anything else is read: an unsigned ping or bad JSON is 401 too', async () => {
      expect((await deliver(h.server.url, 'ping', '{"zen":"x"}', { signature: null })).status).toBe(401);
      expect((await deliver(h.server.url, 'pull_request', 'not json', { signature: `sha256=${'0'.repeat(64)}` })).status).toBe(401);
    });
  });

  describe('malformed requests', () => {
    it('a signed body that is not JSON → 400', async () => {
      expect((await deliver(h.server.url, 'pull_request', '{"action": "opened",')).status).toBe(400);
    });

    it('signed JSON without the fields of its event → 400, no signal', async () => {
      fresh();
      const res = await deliver(h.server.url, 'check_run', JSON.stringify({ action: 'completed', repository: { id: 1, full_name: 'o/r' } }));
      expect(res.status).toBe(400);
      expect(String(res.body.error)).toContain('check_run');
      expect(fresh()).toEqual([]);
    });

    it('no X-GitHub-Event → 400', async () => {
      const text = '{}';
      const res = await fetch(h.server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': await sign(SECRET, text), 'x-github-delivery': 'd' }, body: text });
      expect(res.status).toBe(400);
    });

    it('the form encoding GitHub offers (payload=<json>) is accepted', async () => {
      fresh();
      const json = JSON.stringify(onTaskBranch('check_suite', example('check_suite', 'completed'), 'form-task'));
      const form = new URLSearchParams({ payload: json }).toString();
      const res = await deliver(h.server.url, 'check_suite', form, { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.status).toBe(200);
      expect(fresh().map(([id]) => id)).toEqual(['task-form-task']);
    });

    it('another path → 404; GET → 405', async () => {
      expect((await fetch(h.server.url.replace('/webhooks/github', '/'), { method: 'POST', body: '{}' })).status).toBe(404);
      const get = await fetch(h.server.url);
      expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    });
  });
});

describe('webhook endpoint, limits and failures', () => {
  const payload = () => JSON.stringify(onTaskBranch('check_run', example('check_run', 'completed'), 'add-multiply'));

  it('a body over the cap → 413, no signal (declared length)', async () => {
    const h = await startServer(undefined, { maxBodyBytes: 4096 });
    try {
      const big = payload(); // ~11 kB, a valid signed delivery otherwise
      expect(Buffer.byteLength(big)).toBeGreaterThan(4096);
      expect((await deliver(h.server.url, 'check_run', big)).status).toBe(413);
      expect(h.calls).toEqual([]);
    } finally {
      await h.server.close();
    }
  });

  it('a body over the cap → 413, no signal (chunked, no length)', async () => {
    const h = await startServer(undefined, { maxBodyBytes: 64 * 1024 });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(h.server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': 'd', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` } });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        // The server may close the socket while we still write: that is the point.
        req.on('error', (err) => reject(err));
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(status).toBe(413);
      expect(h.calls).toEqual([]);
    } finally {
      await h.server.close();
    }
  });

  it('the workflow does not exist (WorkflowNotFoundError) → 202', async () => {
    const h = await startServer((workflowId) => Promise.reject(new WorkflowNotFoundError('workflow not found', workflowId, undefined)));
    try {
      const res = await deliver(h.server.url, 'check_run', payload());
      expect(res).toMatchObject({ status: 202, body: { unknown: ['task-add-multiply'] } });
      expect(h.calls).toHaveLength(1);
    } finally {
      await h.server.close();
    }
  });

  it('any other signal failure → 500, so the delivery shows as failed on GitHub', async () => {
    const h = await startServer(() => Promise.reject(new Error('connection refused')));
    try {
      const res = await deliver(h.server.url, 'check_run', payload());
      expect(res).toMatchObject({ status: 500, body: { failed: ['task-add-multiply'] } });
    } finally {
      await h.server.close();
    }
  });

  it('a signal that hangs → 500 within the signal timeout, not GitHub’s 10 s', async () => {
    const h = await startServer(() => new Promise<void>(() => undefined), { signalTimeoutMs: 200 });
    try {
      const started = Date.now();
      expect((await deliver(h.server.url, 'check_run', payload())).status).toBe(500);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await h.server.close();
    }
  });

  it('refuses to start without a secret', async () => {
    await expect(createWebhookServer({ secret: '', port: 0, logger, signal: () => Promise.resolve() })).rejects.toThrow(/secret/);
  });
});

describe('webhook endpoint → Temporal', () => {
  let env: TestWorkflowEnvironment;
  let server: WebhookServer;
  beforeAll(async () => {
    env = await devServerEnv();
    server = await createWebhookServer({ secret: SECRET, port: 0, logger, signal: temporalSignal(env.client) });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await env?.teardown();
  });

  it('signals the running task-<id> workflow with the event', async () => {
    const taskId = `hook-${Date.now().toString(36)}`;
    // No worker polls this queue: the workflow stays open and records what it is sent.
    const handle = await env.client.workflow.start('task', { taskQueue: `webhooks-test-${taskId}`, workflowId: `task-${taskId}`, args: [] });
    try {
      const payload = onTaskBranch('pull_request', example('pull_request', 'synchronize'), taskId);
      const res = await deliver(server.url, 'pull_request', JSON.stringify(payload));
      expect(res).toMatchObject({ status: 200, body: { signalled: [`task-${taskId}`] } });

      const history = await handle.fetchHistory();
      const signalled = history.events?.find((e) => e.workflowExecutionSignaledEventAttributes)?.workflowExecutionSignaledEventAttributes;
      expect(signalled?.signalName).toBe('forgeEvent');
      const sent = (signalled?.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p))[0];
      expect(sent).toEqual({ kind: 'pull_request', action: 'synchronize', ...headOf('pull_request', payload), repository: 'Codertocat/Hello-World', deliveryId: res.delivery });
    } finally {
      await handle.terminate('test done');
    }
  });

  it("a push to the base → every running task of the repository (each tells its base apart); to a task's branch → that task", async () => {
    const ids = [`base-a-${Date.now().toString(36)}`, `base-b-${Date.now().toString(36)}`];
    const handles = await Promise.all(ids.map((id) => env.client.workflow.start('task', { taskQueue: `webhooks-test-${id}`, workflowId: `task-${id}`, args: [] })));
    const fanOut = await createWebhookServer({ secret: SECRET, port: 0, logger, signal: temporalSignal(env.client), tasksOf: temporalTasksOf(env.client, false) });
    try {
      const branchPush = examples.find((e) => e.name === 'push')!.examples.find((p) => p.ref === 'refs/heads/master')!;
      const checked = upToDate('push', branchPush);
      if (!('payload' in checked)) throw new Error(`GitHub's push example fails its schema: ${ajv.errorsText(checked.errors)}`);
      const onMain = checked.payload;
      const res = await deliver(fanOut.url, 'push', JSON.stringify(onMain));
      expect(res.status).toBe(200);
      expect(res.body.signalled).toEqual(expect.arrayContaining(ids.map((id) => `task-${id}`)));
      const sentTo = async (i: number) => {
        const history = await handles[i]!.fetchHistory();
        return history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => defaultPayloadConverter.fromPayload(e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!));
      };
      const event = { kind: 'push', repository: 'Codertocat/Hello-World', deliveryId: res.delivery, ref: 'master', headSha: onMain.after };
      expect(await sentTo(0)).toEqual([event]);
      expect(await sentTo(1)).toEqual([event]);

      const onTask = valid('push', { ...structuredClone(onMain), ref: `refs/heads/swarm/${ids[0]}` });
      const own = await deliver(fanOut.url, 'push', JSON.stringify(onTask));
      expect(own).toMatchObject({ status: 200, body: { signalled: [`task-${ids[0]}`] } });
      expect(await sentTo(1)).toHaveLength(1);
    } finally {
      await fanOut.close();
      await Promise.all(handles.map((h) => h.terminate('test done')));
    }
  });

  it('a task that does not exist → the client’s WorkflowNotFoundError → 202', async () => {
    const payload = onTaskBranch('check_suite', example('check_suite', 'completed'), 'never-started');
    const res = await deliver(server.url, 'check_suite', JSON.stringify(payload));
    expect(res).toMatchObject({ status: 202, body: { unknown: ['task-never-started'] } });
  });

  it('a task that has finished → 202', async () => {
    const taskId = `done-${Date.now().toString(36)}`;
    const handle = await env.client.workflow.start('task', { taskQueue: `webhooks-test-${taskId}`, workflowId: `task-${taskId}`, args: [] });
    await handle.terminate('finished');
    const res = await deliver(server.url, 'status', JSON.stringify(onTaskBranch('status', example('status'), taskId)));
    expect(res.status).toBe(202);
  });
});

describe('webhook endpoint, intake from issues', () => {
  /** GitHub's issues.labeled example, labelled `label`, checked against GitHub's schema. */
  const labeled = (label: string, pullRequest = false) => {
    const payload = structuredClone(example('issues', 'labeled')) as Payload & { label: { name: string }; issue: { number: number; pull_request?: unknown } };
    payload.label.name = label;
    if (pullRequest) payload.issue.pull_request = { url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/1', html_url: 'https://github.com/Codertocat/Hello-World/pull/1', diff_url: 'https://github.com/Codertocat/Hello-World/pull/1.diff', patch_url: 'https://github.com/Codertocat/Hello-World/pull/1.patch' };
    return JSON.stringify(valid('issues', payload));
  };

  it('the intake label (any case) → 200 and the issue to take in; another label, another action, a PR, no intake configured → 202', async () => {
    const started: Array<Parameters<IntakeFn>[0]> = [];
    const h = await startServer(undefined, { intake: (issue) => Promise.resolve((started.push(issue), `intake-${issue.repository}#${issue.number}`)), intakeLabel: 'swarm' });
    const without = await startServer();
    try {
      const res = await deliver(h.server.url, 'issues', labeled('Swarm'));
      expect(res).toMatchObject({ status: 200, body: { intake: 'intake-Codertocat/Hello-World#1' } });
      expect(started).toEqual([{ repository: 'Codertocat/Hello-World', number: 1, label: 'Swarm', deliveryId: res.delivery }]);
      expect((await deliver(h.server.url, 'issues', labeled('bug'))).status).toBe(202);
      expect((await deliver(h.server.url, 'issues', labeled('swarm', true))).status).toBe(202);
      expect((await deliver(h.server.url, 'issues', JSON.stringify(example('issues', 'opened')))).status).toBe(202);
      expect((await deliver(without.server.url, 'issues', labeled('swarm'))).status).toBe(202);
      expect(started).toHaveLength(1);
    } finally {
      await h.server.close();
      await without.server.close();
    }
  });

  it('a forged labeled delivery → 401, nothing taken in; an intake that cannot start → 500', async () => {
    const started: string[] = [];
    const h = await startServer(undefined, { intake: (issue) => Promise.resolve((started.push(issue.repository), 'x')) });
    const failing = await startServer(undefined, { intake: () => Promise.reject(new Error('Temporal unreachable')) });
    try {
      const body = labeled('swarm');
      expect((await deliver(h.server.url, 'issues', body.replace('"number":1', '"number":2'), { signature: await sign(SECRET, body) })).status).toBe(401);
      expect(started).toEqual([]);
      expect(await deliver(failing.server.url, 'issues', body)).toMatchObject({ status: 500, body: { error: 'intake failed to start' } });
    } finally {
      await h.server.close();
      await failing.server.close();
    }
  });
});
