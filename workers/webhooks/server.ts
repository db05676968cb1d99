// The GitHub webhook endpoint: POST /webhooks/github on a plain node:http server. A verified
// delivery about a task's branch becomes a `forgeEvent` signal to that task's workflow, so the
// monitor reacts in seconds instead of at its next tick.
//
// GitHub does not redeliver a failed delivery on its own, so nothing here is load-bearing: the
// workflow's timer-based poll of the forge stays the fallback, and a lost or refused delivery
// only costs latency. A failure to signal still answers 500, so the delivery shows as failed in
// GitHub's "Recent Deliveries" (where it can be redelivered by hand).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@temporalio/common';
import { routeGithubEvent, taskIdForWorkflow, type ForgeEvent, type SignalTarget } from './events.ts';

export const WEBHOOK_PATH = '/webhooks/github';
/** GitHub caps payloads at 25 MB; the events we use are tens of kB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** GitHub gives up on a delivery after 10 s. */
export const DEFAULT_SIGNAL_TIMEOUT_MS = 8_000;

export type SignalFn = (workflowId: string, event: ForgeEvent) => Promise<void>;
export type IntakeFn = (issue: { repository: string; number: number; label: string; deliveryId: string }) => Promise<string>;

export interface WebhookServerOptions {
  /** The webhook's secret, as configured on GitHub. */
  secret: string;
  /** 0 picks a free port (see `url`). */
  port: number;
  host?: string;
  /** Sends the signal; throws WorkflowNotFoundError (from @temporalio/client) for no such workflow. */
  signal: SignalFn;
  /** The running task workflows (ids) of a repository, told of a push to a branch that is no task's (its base, say). */
  tasksOf?: (repository: string) => Promise<string[]>;
  /** Starts the intake of an issue labelled `intakeLabel` (issues.labeled); returns the intake's workflow id. Without it, issue events are ignored. */
  intake?: IntakeFn;
  intakeLabel?: string;
  logger: Logger;
  maxBodyBytes?: number;
  signalTimeoutMs?: number;
}

export interface WebhookServer {
  /** The endpoint to configure on GitHub, e.g. http://127.0.0.1:8787/webhooks/github. */
  url: string;
  close(): Promise<void>;
}

/** `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant time. */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1]!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Signalling a workflow that does not exist (never started, or already closed). */
function isWorkflowNotFound(err: unknown): boolean {
  // By name as well as class: the client package can be loaded twice (tests, bundlers).
  return err instanceof Error && err.name === 'WorkflowNotFoundError';
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The JSON document of a delivery: `application/json`, or the form encoding GitHub also offers. */
function payloadText(req: IncomingMessage, body: Buffer): string | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return new URLSearchParams(body.toString('utf8')).get('payload') ?? undefined;
  return body.toString('utf8');
}

export async function createWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { secret, port, host = '127.0.0.1', signal, tasksOf, intake, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const signalTimeoutMs = options.signalTimeoutMs ?? DEFAULT_SIGNAL_TIMEOUT_MS;
  if (!secret) throw new Error('the webhook server needs a secret (GITHUB_WEBHOOK_SECRET): unsigned deliveries are never accepted');

  async function deliver(targets: SignalTarget[], deliveryId: string, res: ServerResponse): Promise<void> {
    const results = await Promise.allSettled(targets.map((t) => withTimeout(signal(t.workflowId, t.event), signalTimeoutMs, `signal to ${t.workflowId}`)));
    const signalled: string[] = [];
    const unknown: string[] = [];
    const failed: Array<{ workflowId: string; error: string }> = [];
    results.forEach((result, i) => {
      const { workflowId } = targets[i]!;
      if (result.status === 'fulfilled') signalled.push(workflowId);
      else if (isWorkflowNotFound(result.reason)) unknown.push(workflowId);
      else failed.push({ workflowId, error: result.reason instanceof Error ? result.reason.message : String(result.reason) });
    });
    for (const workflowId of signalled) logger.info('webhook signalled', { workflowId, deliveryId, kind: targets[0]!.event.kind });
    if (unknown.length > 0) logger.debug('webhook for no running task', { deliveryId, workflowIds: unknown });
    if (failed.length > 0) {
      // GitHub will not retry; the workflow's poll picks the change up at its next tick.
      logger.warn('webhook could not signal', { deliveryId, failed });
      reply(res, 500, { error: 'signal failed', failed: failed.map((f) => f.workflowId), signalled });
      return;
    }
    if (signalled.length > 0) reply(res, 200, { signalled, ...(unknown.length > 0 ? { unknown } : {}) });
    else reply(res, 202, { ignored: 'no running task', unknown });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WEBHOOK_PATH) return reply(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' }, { allow: 'POST' });

    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      // Close the connection rather than read the rest of an oversized body.
      return reply(res, 413, { error: `payload over ${maxBodyBytes} bytes` }, { connection: 'close' });
    }

    const deliveryId = String(req.headers['x-github-delivery'] ?? '');
    const eventName = String(req.headers['x-github-event'] ?? '');
    // Nothing about the request is trusted, or even parsed, before the signature checks out.
    if (!verifySignature(secret, body, req.headers['x-hub-signature-256'] as string | undefined)) {
      logger.warn('webhook refused: bad or missing X-Hub-Signature-256', { deliveryId, event: eventName, remote: req.socket.remoteAddress });
      return reply(res, 401, { error: 'bad or missing X-Hub-Signature-256' });
    }
    if (!eventName) return reply(res, 400, { error: 'missing X-GitHub-Event' });
    if (!deliveryId) return reply(res, 400, { error: 'missing X-GitHub-Delivery' });

    let payload: unknown;
    try {
      const text = payloadText(req, body);
      if (text === undefined) throw new Error('no payload field');
      payload = JSON.parse(text);
    } catch {
      return reply(res, 400, { error: 'the body is not JSON (configure the webhook with content type application/json)' });
    }

    const route = routeGithubEvent(eventName, payload, deliveryId, intake ? { intakeLabel: options.intakeLabel ?? 'swarm' } : {});
    switch (route.outcome) {
      case 'ping':
        logger.info('webhook ping', { deliveryId });
        return reply(res, 200, { pong: true });
      case 'ignored':
        logger.debug('webhook ignored', { deliveryId, event: eventName, reason: route.reason });
        return reply(res, 202, { ignored: route.reason });
      case 'invalid':
        logger.warn('webhook payload not understood', { deliveryId, event: eventName, reason: route.reason });
        return reply(res, 400, { error: route.reason });
      case 'signal':
        return deliver(route.targets, deliveryId, res);
      case 'intake': {
        // Only the start is awaited: reading the issue and commenting may wait on GitHub longer than its 10 s.
        try {
          const workflowId = await withTimeout(intake!({ repository: route.repository, number: route.number, label: route.label, deliveryId }), signalTimeoutMs, `intake of ${route.repository}#${route.number}`);
          logger.info('webhook started intake', { deliveryId, workflowId });
          return reply(res, 200, { intake: workflowId });
        } catch (err) {
          logger.warn('webhook could not start intake', { deliveryId, repository: route.repository, number: route.number, error: (err as Error).message });
          return reply(res, 500, { error: 'intake failed to start' });
        }
      }
      case 'repository': {
        if (!tasksOf) return reply(res, 202, { ignored: 'a push to a branch that is no task\'s, and no task listing configured' });
        const workflowIds = await tasksOf(route.repository);
        if (workflowIds.length === 0) return reply(res, 202, { ignored: 'no running task' });
        return deliver(workflowIds.map((workflowId) => ({ taskId: taskIdForWorkflow(workflowId), workflowId, event: route.event })), deliveryId, res);
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('webhook handler failed', { err });
      reply(res, 500, { error: 'internal error' });
    });
  });
  // A client that trickles its request must not hold a socket for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `http://${hostPart}:${address.port}${WEBHOOK_PATH}`;
  logger.info('webhook endpoint listening', { url });

  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
