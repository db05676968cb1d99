// The Telegram section of the configuration: on only with a token and a chat, the token and the
// webhook secret from env only and never shown, the API root without a trailing slash.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, redactedConfig, telegramSettings } from '../../lib/config.ts';
import { problemsOf } from '../harness/config-problems.ts';

const TOKEN = '123456789:AAE-secret_token';
const noFile = join(tmpdir(), 'swarmflow-no-such-config.json');
const load = (env: NodeJS.ProcessEnv, file = noFile) => loadConfig({ env, file: file === noFile ? undefined : file });
describe('telegram configuration', () => {
  it('is on only when both the token and the chat are set', () => {
    expect(telegramSettings(load({}))).toBeUndefined();
    expect(telegramSettings(load({ TELEGRAM_BOT_TOKEN: TOKEN }))).toBeUndefined();
    expect(telegramSettings(load({ SWARM_TELEGRAM_CHAT_ID: '-100123' }))).toBeUndefined();
    expect(telegramSettings(load({ TELEGRAM_BOT_TOKEN: TOKEN, SWARM_TELEGRAM_CHAT_ID: '-100123' }))).toMatchObject({ token: TOKEN, chatId: '-100123', apiRoot: 'https://api.telegram.org', mode: 'polling' });
  });

  it('refuses the token or the webhook secret in the file, and never shows them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
    const file = join(dir, 'swarmflow.config.json');
    writeFileSync(file, JSON.stringify({ telegram: { token: TOKEN, webhook: { secret: 'hook-secret' } } }));
    expect(problemsOf(() => loadConfig({ env: {}, file }))).toEqual([
      expect.stringContaining('telegram.token: secrets are read from env only; move it to TELEGRAM_BOT_TOKEN'),
      expect.stringContaining('telegram.webhook.secret: secrets are read from env only; move it to TELEGRAM_WEBHOOK_SECRET'),
    ]);
    const shown = JSON.stringify(redactedConfig(load({ TELEGRAM_BOT_TOKEN: TOKEN, SWARM_TELEGRAM_CHAT_ID: '1', TELEGRAM_WEBHOOK_SECRET: 'hook-secret' })));
    expect(shown).not.toContain('AAE-secret_token');
    expect(shown).not.toContain('hook-secret');
  });

  it('checks the API root, the chat id, the token shape, and that webhook mode has a secret', () => {
    expect(problemsOf(() => load({ TELEGRAM_API_ROOT: 'http://127.0.0.1:8081/' }))).toEqual([expect.stringContaining('telegram.apiRoot (env TELEGRAM_API_ROOT): no trailing slash')]);
    expect(problemsOf(() => load({ SWARM_TELEGRAM_CHAT_ID: 'my chat' }))).toEqual([expect.stringContaining('telegram.chatId (env SWARM_TELEGRAM_CHAT_ID): a numeric chat id or @channelusername')]);
    expect(problemsOf(() => load({ TELEGRAM_BOT_TOKEN: 'not-a-token' }))).toEqual([expect.stringContaining('telegram.token (env TELEGRAM_BOT_TOKEN)')]);
    expect(problemsOf(() => load({ TELEGRAM_BOT_TOKEN: TOKEN, SWARM_TELEGRAM_CHAT_ID: '1', SWARM_TELEGRAM_MODE: 'webhook' }))).toEqual([expect.stringContaining('webhook mode needs TELEGRAM_WEBHOOK_SECRET')]);
    expect(load({ SWARM_TELEGRAM_CHAT_ID: '@swarm_ops', TELEGRAM_API_ROOT: 'http://127.0.0.1:8081', SWARM_TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: 's3cret', SWARM_TELEGRAM_WEBHOOK_PORT: '9000' }).telegram).toMatchObject({
      chatId: '@swarm_ops',
      apiRoot: 'http://127.0.0.1:8081',
      mode: 'webhook',
      webhook: { secret: 's3cret', port: 9000, host: '127.0.0.1', path: '/telegram' },
    });
  });

  it('approvers carry their Telegram user id', () => {
    expect(load({ SWARM_APPROVERS: '[{"name":"alice","telegram":111},{"name":"bob"}]' }).approvers).toEqual([{ name: 'alice', telegram: 111 }, { name: 'bob' }]);
  });
});
