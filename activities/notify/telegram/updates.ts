// Where presses and commands come from. Long polling (the default): getUpdates with the offset
// after the last update handled (which acknowledges it to Telegram), a long-poll timeout and only
// the update types we handle; errors back off, flood control is waited out, and stop() cuts the
// poll in flight. Webhook mode: Telegram posts each update to our endpoint with the secret token we
// gave setWebhook in X-Telegram-Bot-Api-Secret-Token; anything without it is refused.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@temporalio/common';
import { TelegramError, type BotApi, type TgUpdate } from './api.ts';
import { ALLOWED_UPDATES } from './remote.ts';

export interface UpdateSource {
  start(): Promise<void>;
  stop(): Promise<void>;
}

type Handle = (update: TgUpdate) => Promise<void>;

export class LongPoller implements UpdateSource {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly api: BotApi,
    private readonly handle: Handle,
    private readonly logger: Logger,
    private readonly pollSeconds = 25,
  ) {}

  async start(): Promise<void> {
    // A webhook left set would make every getUpdates a 409.
    await this.api.call('deleteWebhook', { drop_pending_updates: false }).catch((err: unknown) => {
      this.logger.warn('telegram deleteWebhook failed; polling anyway', { error: (err as Error).message });
    });
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let offset: number | undefined;
    let failures = 0;
    const { signal } = this.stopping;
    while (!signal.aborted) {
      try {
        const updates = await this.api.call<TgUpdate[]>('getUpdates', { ...(offset === undefined ? {} : { offset }), timeout: this.pollSeconds, allowed_updates: ALLOWED_UPDATES }, { signal, extraTimeoutMs: this.pollSeconds * 1000 });
        failures = 0;
        // One at a time, in order: a press on a task's message may depend on the command before it.
        for (const update of updates) {
          await this.handle(update);
          offset = update.update_id + 1;
        }
      } catch (err) {
        if (signal.aborted) break;
        failures += 1;
        const delay = err instanceof TelegramError && err.retryAfterMs ? err.retryAfterMs : Math.min(500 * 2 ** failures, 30_000);
        this.logger.warn('telegram getUpdates failed; polling again', { error: (err as Error).message, retryInMs: delay });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    }
  }
}

export interface WebhookOptions {
  url?: string;
  secret: string;
  host: string;
  port: number;
  path: string;
}

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

function sameSecret(given: string | string[] | undefined, secret: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function body(req: IncomingMessage, max = 1024 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new Error('too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class WebhookReceiver implements UpdateSource {
  private readonly server = createServer((req, res) => {
    const reply = (status: number) => {
      res.writeHead(status).end();
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== this.options.path) return reply(404);
    if (!sameSecret(req.headers[SECRET_HEADER], this.options.secret)) return reply(401);
    body(req)
      .then(async (text) => {
        const update = JSON.parse(text) as TgUpdate;
        if (typeof update?.update_id !== 'number') return reply(400);
        // Telegram waits for our answer before it sends the next update: handle, then 200.
        await this.handle(update);
        reply(200);
      })
      .catch(() => reply(400));
  });

  /** Where it listens (the port once bound). */
  address = '';

  constructor(
    private readonly api: BotApi,
    private readonly handle: Handle,
    private readonly options: WebhookOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.address = `http://${this.options.host}:${port}${this.options.path}`;
    if (this.options.url) {
      await this.api.call('setWebhook', { url: this.options.url, secret_token: this.options.secret, allowed_updates: ALLOWED_UPDATES }).catch((err: unknown) => {
        this.logger.warn('telegram setWebhook failed: presses will not arrive until it is set', { error: (err as Error).message });
      });
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
  }
}
