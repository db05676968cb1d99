// Telegram beside the console (activities/notify/telegram): one message per task, edited in place,
// with Approve/Reject/Retry buttons and /tasks, /status commands. Built by the worker's stack when
// TELEGRAM_BOT_TOKEN and SWARM_TELEGRAM_CHAT_ID are set; `start()` runs the outbox sender and the
// update source (long polling, or the webhook endpoint), `stop()` ends both.
import type { Logger } from '@temporalio/common';
import type { Config } from '../../../lib/config.ts';
import { telegramSettings } from '../../../lib/config.ts';
import { orchestratorKey, type SigningKey } from '../../../lib/keys.ts';
import type { Notification } from '../../../workflows/task/types.ts';
import type { Db } from '../../store/db.ts';
import type { Notifier } from '../notifier.ts';
import { BotApi } from './api.ts';
import { RemoteControl, type TaskControl } from './remote.ts';
import { TelegramSender } from './sender.ts';
import { enqueue } from './store.ts';
import { LongPoller, WebhookReceiver, type UpdateSource } from './updates.ts';

const STATE_TIMEOUT_MS = 5_000;

/** The notifier's half: queue the event and wake the sender; Telegram is never called here. */
export class TelegramNotifier implements Notifier {
  constructor(
    private readonly db: Db,
    private readonly chatId: string,
    private readonly sender: TelegramSender,
  ) {}

  async send(n: Notification, key: string): Promise<void> {
    await enqueue(this.db, this.chatId, key, n.event, n);
    this.sender.wake();
  }
}

export interface Telegram {
  notifier: TelegramNotifier;
  /** The webhook endpoint's address once started (webhook mode). */
  webhookAddress?: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface TelegramDeps {
  config: Config;
  db: Db;
  client: TaskControl;
  logger: Logger;
  /** Seconds a getUpdates waits for an update (Telegram allows up to 50). */
  pollSeconds?: number;
  /** How often an idle sender looks at the outbox without being woken. */
  idleMs?: number;
}

/** Telegram for this configuration, or undefined when it is off (no token or no chat). */
export function createTelegram({ config, db, client, logger, pollSeconds, idleMs }: TelegramDeps): Telegram | undefined {
  const settings = telegramSettings(config);
  if (!settings) return undefined;
  const api = new BotApi({ apiRoot: settings.apiRoot, token: settings.token });
  const { chatId } = settings;
  // A query waits for a worker; the message then says what the event said rather than wait long.
  const stateOf = (taskId: string) =>
    Promise.race([client.getTask(taskId), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), STATE_TIMEOUT_MS).unref())]);
  const sender = new TelegramSender({ api, db, chatId, stateOf, logger, ...(idleMs ? { idleMs } : {}) });
  let key: SigningKey | undefined;
  const remote = new RemoteControl({
    api,
    db,
    chatId,
    approvers: config.approvers,
    client,
    orchestratorKey: () => (key ??= orchestratorKey(config)),
    refresh: async (taskId, eventKey) => {
      await enqueue(db, chatId, eventKey, 'refresh', { taskId, title: taskId, message: 'a button was pressed' });
      sender.wake();
    },
    logger,
  });
  const handle = remote.handle.bind(remote);
  const { webhook } = settings;
  const source: UpdateSource =
    settings.mode === 'webhook' ? new WebhookReceiver(api, handle, { ...webhook, secret: webhook.secret! }, logger) : new LongPoller(api, handle, logger, pollSeconds);
  const telegram: Telegram = {
    notifier: new TelegramNotifier(db, chatId, sender),
    async start() {
      sender.start();
      await source.start();
      if (source instanceof WebhookReceiver) telegram.webhookAddress = source.address;
    },
    async stop() {
      await source.stop();
      await sender.stop();
    },
  };
  return telegram;
}
