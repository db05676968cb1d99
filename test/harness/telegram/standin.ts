// A local Bot API stand-in on 127.0.0.1: `/bot<token>/<method>` for the methods in methods.ts,
// every request checked against their documented parameters (JSON, form-urlencoded or query
// string, as Telegram takes them), realistic `Message` objects kept per chat so edits are real
// edits, every call recorded, and a script: a forced answer (a 429 with retry_after), a held
// response (the process dies while Telegram has the message), updates to hand to getUpdates.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { coerce, inlineKeyboardProblem, METHODS, parseHtml, UPDATE_TYPES } from './methods.ts';

export const BOT_ID = 7_000_000_001;
export const BOT_USERNAME = 'swarmflow_test_bot';

export interface TelegramUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}
export interface StoredMessage {
  message_id: number;
  date: number;
  edit_date?: number;
  chat: { id: number; type: 'private' | 'group' | 'supergroup' | 'channel'; title?: string };
  from: TelegramUser;
  text: string;
  reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string; url?: string }>> };
  /** What was sent, before entity parsing (the stand-in's own record, not part of the Bot API object). */
  html?: string;
}
export interface Call {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** The status the stand-in answered with (absent while the call waits, a long poll say), and its description. */
  status?: number;
  description?: string;
}
type Answer = { status: number; body: Record<string, unknown> };

export interface TelegramStandin {
  /** The API root to configure (TELEGRAM_API_ROOT). */
  apiRoot: string;
  token: string;
  calls: Call[];
  /** The messages of a chat, by id, as they are now (edited in place). */
  messages(chatId: number): StoredMessage[];
  /** The next call of `method` gets this answer instead (each call takes one scripted answer). */
  answerNext(method: string, answer: Answer): void;
  /** A 429 for the next call of `method`, with parameters.retry_after. */
  floodNext(method: string, retryAfter: number): void;
  /** The next call of `method` is carried out (its message stored) but not answered until `release()`. */
  holdNext(method: string): { arrived: Promise<Call>; release: () => void };
  /** A user pressing an inline button of a message; resolves with the callback query's id. */
  press(chatId: number, messageId: number, from: TelegramUser, data: string): string;
  /** A user writing in a chat (a command, say). */
  say(chatId: number, from: TelegramUser, text: string): void;
  /** The callback queries answered, by id. */
  answered: Map<string, { text?: string; show_alert?: boolean }>;
  webhook?: { url: string; secret_token?: string; allowed_updates?: string[] };
  close(): Promise<void>;
}

const fail = (status: number, description: string, parameters?: Record<string, unknown>): Answer => ({ status, body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) } });
const ok = (result: unknown): Answer => ({ status: 200, body: { ok: true, result } });

async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, unknown> | Answer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (body === '') return params;
  if (type === 'application/json') {
    try {
      const parsed = JSON.parse(body) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail(400, 'Bad Request: invalid JSON object');
      return { ...params, ...(parsed as Record<string, unknown>) };
    } catch {
      return fail(400, "Bad Request: can't parse JSON");
    }
  }
  if (type === 'application/x-www-form-urlencoded') return { ...params, ...Object.fromEntries(new URLSearchParams(body)) };
  return fail(400, `Bad Request: unsupported content type ${type || '(none)'}`);
}

/** Checks the parameters against the method's table: unknown ones, required ones, types. */
function validate(method: string, raw: Record<string, unknown>): { params: Record<string, unknown> } | Answer {
  const spec = METHODS[method]!;
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const p = spec[name];
    // Telegram ignores what it does not know; the stand-in refuses it, so a misspelt parameter shows.
    if (!p) return fail(400, `Bad Request: unknown parameter "${name}" for method ${method}`);
    if (value === null || value === undefined) continue;
    const coerced = coerce(name, p.type, value);
    if ('error' in coerced) return fail(400, coerced.error);
    params[name] = coerced.value;
  }
  for (const [name, p] of Object.entries(spec)) {
    if (!p.required || params[name] !== undefined) continue;
    if (name === 'chat_id') return fail(400, 'Bad Request: chat_id is empty');
    if (name === 'text') return fail(400, 'Bad Request: message text is empty');
    return fail(400, `Bad Request: parameter "${name}" is required`);
  }
  return { params };
}

/** The text as the user sees it, or the 400 Telegram gives for it. */
function messageText(params: Record<string, unknown>): { plain: string } | Answer {
  const text = params.text as string;
  const mode = params.parse_mode as string | undefined;
  if (mode !== undefined && !['HTML', 'MarkdownV2', 'Markdown'].includes(mode)) return fail(400, `Bad Request: unsupported parse_mode`);
  const parsed = mode === 'HTML' ? parseHtml(text) : { plain: text };
  if ('error' in parsed) return fail(400, parsed.error);
  if (parsed.plain.trim() === '') return fail(400, 'Bad Request: message text is empty');
  if (parsed.plain.length > 4096) return fail(400, 'Bad Request: message is too long');
  return parsed;
}

export async function startTelegramStandin({ token = '123456789:TEST-token_for_the_stand-in' }: { token?: string } = {}): Promise<TelegramStandin> {
  const calls: Call[] = [];
  const chats = new Map<number, StoredMessage[]>();
  const scripted = new Map<string, Array<Answer | { hold: { arrived: (c: Call) => void; released: Promise<void> } }>>();
  const updates: Array<Record<string, unknown> & { update_id: number }> = [];
  const waiting = new Set<() => void>();
  const answered = new Map<string, { text?: string; show_alert?: boolean }>();
  const queries = new Set<string>();
  let nextUpdate = 1;
  let closing = false;
  let nextQuery = 1;
  const bot: TelegramUser = { id: BOT_ID, is_bot: true, first_name: 'swarmflow', username: BOT_USERNAME };
  const now = () => Math.floor(Date.now() / 1000);
  const chatOf = (id: number) => {
    if (!chats.has(id)) chats.set(id, []);
    return chats.get(id)!;
  };
  // allowed_updates, once given, holds for later calls too; updates of other types are not kept for the bot.
  let allowed: string[] | undefined;
  const push = (update: Record<string, unknown>) => {
    if (allowed && allowed.length > 0 && !Object.keys(update).some((k) => allowed!.includes(k))) return;
    updates.push({ update_id: nextUpdate++, ...update });
    for (const wake of waiting) wake();
  };
  const shown = (m: StoredMessage) => {
    const { html: _html, ...message } = m;
    return message;
  };

  const standin: TelegramStandin = {
    apiRoot: '',
    token,
    calls,
    answered,
    messages: (chatId) => chatOf(chatId),
    answerNext: (method, answer) => scripted.set(method, [...(scripted.get(method) ?? []), answer]),
    floodNext: (method, retryAfter) => standin.answerNext(method, fail(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter })),
    holdNext(method) {
      let arrived!: (c: Call) => void;
      let release!: () => void;
      const arrival = new Promise<Call>((resolve) => (arrived = resolve));
      scripted.set(method, [...(scripted.get(method) ?? []), { hold: { arrived, released: new Promise<void>((resolve) => (release = resolve)) } }]);
      return { arrived: arrival, release };
    },
    press(chatId, messageId, from, data) {
      const message = chatOf(chatId).find((m) => m.message_id === messageId);
      if (!message) throw new Error(`no message ${messageId} in chat ${chatId}`);
      const buttons = (message.reply_markup?.inline_keyboard ?? []).flat();
      if (!buttons.some((b) => b.callback_data === data)) throw new Error(`message ${messageId} has no button with callback_data ${data}: ${JSON.stringify(buttons)}`);
      const id = String(4_000_000_000_000 + nextQuery++);
      queries.add(id);
      push({ callback_query: { id, from, message: shown(message), chat_instance: String(chatId), data } });
      return id;
    },
    say(chatId, from, text) {
      const messages = chatOf(chatId);
      const command = /^\/\w+/.exec(text);
      const message = { message_id: messages.length + 1, date: now(), chat: { id: chatId, type: chatId < 0 ? 'group' : 'private' }, from, text, ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}) };
      messages.push(message as StoredMessage);
      push({ message });
    },
    async close() {
      closing = true;
      for (const wake of waiting) wake();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };

  async function carryOut(method: string, params: Record<string, unknown>): Promise<Answer> {
    switch (method) {
      case 'getMe':
        return ok({ ...bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
      case 'sendMessage': {
        const text = messageText(params);
        if ('status' in text) return text;
        if (params.reply_markup) {
          const problem = inlineKeyboardProblem(params.reply_markup as Record<string, unknown>, false);
          if (problem) return fail(400, problem);
        }
        if (typeof params.chat_id !== 'number') return fail(400, 'Bad Request: chat not found');
        const messages = chatOf(params.chat_id);
        const message: StoredMessage = {
          message_id: messages.length + 1,
          date: now(),
          chat: { id: params.chat_id, type: params.chat_id < 0 ? 'group' : 'private', ...(params.chat_id < 0 ? { title: 'swarmflow' } : {}) },
          from: bot,
          text: text.plain,
          ...(params.reply_markup ? { reply_markup: params.reply_markup as StoredMessage['reply_markup'] } : {}),
          html: params.text as string,
        };
        messages.push(message);
        return ok(shown(message));
      }
      case 'editMessageText': {
        if (params.inline_message_id === undefined && (params.chat_id === undefined || params.message_id === undefined)) return fail(400, 'Bad Request: message identifier is not specified');
        const text = messageText(params);
        if ('status' in text) return text;
        if (params.reply_markup) {
          const problem = inlineKeyboardProblem(params.reply_markup as Record<string, unknown>, true);
          if (problem) return fail(400, problem);
        }
        const message = typeof params.chat_id === 'number' ? chatOf(params.chat_id).find((m) => m.message_id === params.message_id && m.from.id === BOT_ID) : undefined;
        if (!message) return fail(400, 'Bad Request: message to edit not found');
        const markup = params.reply_markup as StoredMessage['reply_markup'] | undefined;
        if (message.text === text.plain && JSON.stringify(message.reply_markup) === JSON.stringify(markup) && message.html === params.text) {
          return fail(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
        }
        message.text = text.plain;
        message.html = params.text as string;
        message.edit_date = now();
        if (markup) message.reply_markup = markup;
        else delete message.reply_markup;
        return ok(shown(message));
      }
      case 'answerCallbackQuery': {
        const id = params.callback_query_id as string;
        if (!queries.has(id) || answered.has(id)) return fail(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        if (typeof params.text === 'string' && params.text.length > 200) return fail(400, 'Bad Request: MESSAGE_TOO_LONG');
        answered.set(id, { text: params.text as string | undefined, show_alert: params.show_alert as boolean | undefined });
        return ok(true);
      }
      case 'getUpdates': {
        if (standin.webhook) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
        const asked = params.allowed_updates as string[] | undefined;
        const unknown = asked?.find((t) => !UPDATE_TYPES.includes(t));
        if (unknown) return fail(400, `Bad Request: unknown update type "${unknown}"`);
        if (asked) allowed = asked;
        const offset = (params.offset as number | undefined) ?? 0;
        const limit = Math.min(Math.max((params.limit as number | undefined) ?? 100, 1), 100);
        // An offset confirms every update before it: they are never returned again.
        if (offset > 0) updates.splice(0, updates.filter((u) => u.update_id < offset).length);
        const pending = () => updates;
        const deadline = Date.now() + Math.min((params.timeout as number | undefined) ?? 0, 50) * 1000;
        while (pending().length === 0 && Date.now() < deadline) {
          await new Promise<void>((resolve) => {
            const wake = () => {
              waiting.delete(wake);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(wake, deadline - Date.now());
            waiting.add(wake);
          });
          if (closing) break;
        }
        return ok(pending().slice(0, limit));
      }
      case 'setWebhook': {
        const url = params.url as string;
        if (url !== '' && !url.startsWith('https://')) return fail(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        const secret = params.secret_token as string | undefined;
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) return fail(400, 'Bad Request: secret token contains unallowed characters');
        standin.webhook = url === '' ? undefined : { url, secret_token: secret, allowed_updates: params.allowed_updates as string[] | undefined };
        return ok(true);
      }
      case 'deleteWebhook':
        standin.webhook = undefined;
        if (params.drop_pending_updates) updates.splice(0);
        return ok(true);
      default:
        return fail(404, 'Not Found');
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = ({ status, body }: Answer, call?: Call) => {
      if (call) Object.assign(call, { status, ...(typeof body.description === 'string' ? { description: body.description } : {}) });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/bot([^/]+)\/(?:test\/)?([A-Za-z]+)$/.exec(url.pathname);
    if (!match) return send(fail(404, 'Not Found'));
    if (req.method !== 'GET' && req.method !== 'POST') return send(fail(405, 'Method Not Allowed'));
    if (match[1] !== token) return send(fail(401, 'Unauthorized'));
    // Method names are case-insensitive.
    const method = Object.keys(METHODS).find((m) => m.toLowerCase() === match[2]!.toLowerCase());
    if (!method) return send(fail(404, 'Not Found: method not found'));
    const raw = await readParams(req, url);
    if ('status' in raw && 'body' in raw) return send(raw as Answer);
    const call: Call = { method, params: raw, at: Date.now() };
    calls.push(call);
    const checked = validate(method, raw);
    if ('status' in checked) return send(checked, call);
    const next = scripted.get(method)?.shift();
    if (next && 'status' in next) return send(next, call);
    const answer = await carryOut(method, checked.params);
    if (next && 'hold' in next) {
      // Telegram has it (the message exists) but its answer is not out yet.
      next.hold.arrived(call);
      await next.hold.released;
    }
    send(answer, call);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 500, description: `Internal Server Error: ${(err as Error).message}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standin.apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return standin;
}
