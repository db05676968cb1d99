// The Telegram stand-in itself, against the Bot API's documented requests and answers: what it
// accepts and returns must be what Telegram does, or the notifier's tests prove nothing.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BOT_ID, startTelegramStandin, type TelegramStandin } from '../harness/telegram/standin.ts';

let tg: TelegramStandin;
beforeEach(async () => {
  tg = await startTelegramStandin();
});
afterEach(() => tg.close());

const CHAT = -1001234567890;
const alice = { id: 111, is_bot: false, first_name: 'Alice' };

async function call(method: string, params: Record<string, unknown> = {}, { token = tg.token, as = 'json' }: { token?: string; as?: 'json' | 'form' | 'query' } = {}) {
  const url = new URL(`${tg.apiRoot}/bot${token}/${method}`);
  const flat = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  if (as === 'query') for (const [k, v] of Object.entries(flat)) url.searchParams.set(k, v);
  const init: RequestInit =
    as === 'json' ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) } : as === 'form' ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(flat).toString() } : { method: 'GET' };
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as { ok: boolean; result?: any; error_code?: number; description?: string; parameters?: { retry_after?: number } } }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('the Telegram Bot API stand-in', () => {
  it('answers sendMessage with a Message (JSON, form-urlencoded or query string; method names case-insensitive)', async () => {
    const sent = await call('sendMessage', { chat_id: CHAT, text: '<b>Ready</b> &amp; waiting', parse_mode: 'HTML' });
    expect(sent).toEqual({ status: 200, body: { ok: true, result: { message_id: 1, date: expect.any(Number), chat: { id: CHAT, type: 'group', title: 'swarmflow' }, from: expect.objectContaining({ id: BOT_ID, is_bot: true }), text: 'Ready & waiting' } } });
    expect((await call('sendmessage', { chat_id: String(CHAT), text: 'two' }, { as: 'form' })).body.result).toMatchObject({ message_id: 2, text: 'two' });
    expect((await call('SENDMESSAGE', { chat_id: CHAT, text: 'three' }, { as: 'query' })).body.result).toMatchObject({ message_id: 3, text: 'three' });
    expect((await call('getMe')).body.result).toMatchObject({ id: BOT_ID, is_bot: true, username: 'swarmflow_test_bot' });
  });

  it("refuses what Telegram refuses, with Telegram's descriptions", async () => {
    const refused = async (method: string, params: Record<string, unknown>, options?: Parameters<typeof call>[2]) => {
      const { status, body } = await call(method, params, options);
      return { status, description: body.description, error_code: body.error_code, ok: body.ok };
    };
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'x' }, { token: '1:wrong' })).toEqual({ status: 401, error_code: 401, ok: false, description: 'Unauthorized' });
    expect(await refused('sendMessage', { text: 'x' })).toMatchObject({ status: 400, description: 'Bad Request: chat_id is empty' });
    expect(await refused('sendMessage', { chat_id: CHAT })).toMatchObject({ status: 400, description: 'Bad Request: message text is empty' });
    expect(await refused('sendMessage', { chat_id: CHAT, text: '<b></b>', parse_mode: 'HTML' })).toMatchObject({ description: 'Bad Request: message text is empty' });
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'x'.repeat(4097) })).toMatchObject({ description: 'Bad Request: message is too long' });
    // 4096 visible characters are fine, however many bytes of markup carry them.
    expect((await call('sendMessage', { chat_id: CHAT, text: `<b>${'&lt;'.repeat(4096)}</b>`, parse_mode: 'HTML' })).status).toBe(200);
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'a < b', parse_mode: 'HTML' })).toMatchObject({ description: expect.stringMatching(/^Bad Request: can't parse entities: /) });
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'R&D', parse_mode: 'HTML' })).toMatchObject({ description: "Bad Request: can't parse entities: Character '&' is reserved and must be escaped at byte offset 1" });
    expect(await refused('sendMessage', { chat_id: CHAT, text: '<h1>x</h1>', parse_mode: 'HTML' })).toMatchObject({ description: 'Bad Request: can\'t parse entities: Unsupported start tag "h1" at byte offset 0' });
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'x', parse_mod: 'HTML' })).toMatchObject({ status: 400, description: 'Bad Request: unknown parameter "parse_mod" for method sendMessage' });
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'x', disable_notification: 'yes' })).toMatchObject({ description: 'Bad Request: field "disable_notification" must be of type Boolean' });
    expect(await refused('sendMessage', { chat_id: 'not a chat', text: 'x' })).toMatchObject({ description: 'Bad Request: chat not found' });
    const button = (data: string) => ({ chat_id: CHAT, text: 'x', reply_markup: { inline_keyboard: [[{ text: 'Approve', callback_data: data }]] } });
    expect((await call('sendMessage', button('a'.repeat(64)))).status).toBe(200);
    expect(await refused('sendMessage', button('a'.repeat(65)))).toMatchObject({ description: 'Bad Request: BUTTON_DATA_INVALID' });
    // 64 bytes, not characters: 22 three-byte characters are 66 bytes.
    expect(await refused('sendMessage', button('✓'.repeat(22)))).toMatchObject({ description: 'Bad Request: BUTTON_DATA_INVALID' });
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'x', reply_markup: { inline_keyboard: [[{ text: 'Approve' }]] } })).toMatchObject({ status: 400 });
    expect(await refused('sendMessage', { chat_id: CHAT, text: 'x', reply_markup: { inline_keyboard: [[{ text: 'Approve', callback_data: 'a', colour: 'green' }]] } })).toMatchObject({ description: 'Bad Request: can\'t parse inline keyboard button: unknown field "colour"' });
    expect(await refused('answerCallbackQuery', { callback_query_id: 'nope' })).toMatchObject({ description: 'Bad Request: query is too old and response timeout expired or query ID is invalid' });
    expect(await refused('getUpdates', { allowed_updates: ['callback_query', 'presses'] })).toMatchObject({ description: 'Bad Request: unknown update type "presses"' });
    expect(tg.calls.filter((c) => c.status === 400).length).toBeGreaterThan(10);
  });

  it('edits a message in place; the same content again is "message is not modified"; a message not there is "not found"', async () => {
    const keyboard = { inline_keyboard: [[{ text: 'Approve', callback_data: 'sf1:a' }]] };
    const { message_id } = (await call('sendMessage', { chat_id: CHAT, text: 'ready', reply_markup: keyboard })).body.result as { message_id: number };
    const edit = { chat_id: CHAT, message_id, text: 'merged' };
    expect((await call('editMessageText', edit)).body.result).toMatchObject({ message_id, text: 'merged', edit_date: expect.any(Number) });
    // An edit without reply_markup removes the inline keyboard.
    expect(tg.messages(CHAT)[0]).not.toHaveProperty('reply_markup');
    expect((await call('editMessageText', edit)).body).toEqual({ ok: false, error_code: 400, description: 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message' });
    expect((await call('editMessageText', { ...edit, message_id: 99 })).body.description).toBe('Bad Request: message to edit not found');
    expect((await call('editMessageText', { text: 'x' })).body.description).toBe('Bad Request: message identifier is not specified');
  });

  it('serves updates to getUpdates: long polls until one arrives, filters by allowed_updates, and an offset acknowledges', async () => {
    const { message_id } = (await call('sendMessage', { chat_id: CHAT, text: 'ready', reply_markup: { inline_keyboard: [[{ text: 'Approve', callback_data: 'sf1:a' }]] } })).body.result as { message_id: number };
    const started = Date.now();
    const polled = call('getUpdates', { timeout: 10, allowed_updates: ['callback_query'] });
    setTimeout(() => tg.say(CHAT, alice, '/tasks'), 200);
    setTimeout(() => tg.press(CHAT, message_id, alice, 'sf1:a'), 400);
    const first = (await polled).body.result as Array<{ update_id: number; callback_query?: { id: string; data: string; from: { id: number }; message: { message_id: number } } }>;
    // The message was not asked for (so not kept for the bot); the press woke the poll well before its timeout.
    expect(first).toEqual([{ update_id: 1, callback_query: expect.objectContaining({ data: 'sf1:a', from: alice, message: expect.objectContaining({ message_id }) }) }]);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Not acknowledged yet: served again.
    expect(((await call('getUpdates', { timeout: 0 })).body.result as Array<{ update_id: number }>).map((u) => u.update_id)).toEqual([1]);
    expect((await call('getUpdates', { offset: 2, timeout: 0, allowed_updates: [] })).body.result).toEqual([]);
    tg.say(CHAT, alice, '/tasks');
    const all = (await call('getUpdates', { offset: 2, timeout: 0 })).body.result as Array<{ update_id: number; message?: { text: string; entities: unknown[] } }>;
    expect(all).toEqual([{ update_id: 2, message: expect.objectContaining({ text: '/tasks', from: alice, entities: [{ type: 'bot_command', offset: 0, length: 6 }] }) }]);
    expect((await call('getUpdates', { offset: 3, timeout: 0 })).body.result).toEqual([]);
    expect((await call('getUpdates', { timeout: 0 })).body.result).toEqual([]);
    const queryId = first[0]!.callback_query!.id;
    expect((await call('answerCallbackQuery', { callback_query_id: queryId, text: 'merged', show_alert: false })).body).toEqual({ ok: true, result: true });
    expect(tg.answered.get(queryId)).toEqual({ text: 'merged', show_alert: false });
    expect(() => tg.press(CHAT, message_id, alice, 'sf1:not-a-button')).toThrow(/has no button/);
  });

  it('can be scripted: a 429 with retry_after, a held answer; and getUpdates conflicts with a webhook', async () => {
    tg.floodNext('sendMessage', 3);
    expect((await call('sendMessage', { chat_id: CHAT, text: 'x' })).body).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } });
    const hold = tg.holdNext('sendMessage');
    const answer = call('sendMessage', { chat_id: CHAT, text: 'held' });
    await hold.arrived;
    // Telegram has the message before its answer is out.
    expect(tg.messages(CHAT).map((m) => m.text)).toEqual(['held']);
    hold.release();
    expect((await answer).body.result).toMatchObject({ message_id: 1, text: 'held' });
    expect((await call('setWebhook', { url: 'http://example.com/hook' })).body.description).toBe('Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
    expect((await call('setWebhook', { url: 'https://example.com/hook', secret_token: 's3cret_-', allowed_updates: ['callback_query'] })).body).toEqual({ ok: true, result: true });
    expect((await call('getUpdates', {})).body).toEqual({ ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    expect((await call('deleteWebhook', {})).body).toEqual({ ok: true, result: true });
    expect((await call('getUpdates', {})).body).toEqual({ ok: true, result: [] });
  });
});
