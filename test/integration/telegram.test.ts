// Telegram end to end against the Bot API stand-in, every other part real (the Temporal dev
// server, both workers, Postgres, git, tmux, the scripted agent): a task's one message shows it
// ready with buttons, a press by someone not listed is refused and answered, a listed approver's
// press merges it and the message is edited to merged; /tasks and /status answer in the chat;
// flood control's retry_after is waited out without holding the task up.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { orchestratorKey } from '../../lib/keys.ts';
import { decisionMessage, verifySignature } from '../../workflows/policy/signatures.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { devServerEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, FEATURE_DONE, featureSpec, sampleRepo, type Testbed } from '../harness/task-testbed.ts';
import { startTelegramStandin, type StoredMessage, type TelegramStandin } from '../harness/telegram/standin.ts';

const CHAT = -1001234567890;
const alice = { id: 111, is_bot: false, first_name: 'Alice' };
const mallory = { id: 666, is_bot: false, first_name: 'Mallory' };

let env: TestWorkflowEnvironment;
let tg: TelegramStandin;
let bed: Testbed;
beforeAll(async () => {
  // The dev server: /tasks lists from visibility, which the time-skipping server does not serve.
  env = await devServerEnv();
});
afterAll(() => env?.teardown());
beforeEach(async () => {
  tg = await startTelegramStandin();
  bed = await createTestbed(env, {
    env: {
      TELEGRAM_BOT_TOKEN: tg.token,
      SWARM_TELEGRAM_CHAT_ID: String(CHAT),
      TELEGRAM_API_ROOT: tg.apiRoot,
    },
    // alice proves herself on Telegram by her user id; bob has a key and no Telegram id.
    approvers: [{ name: 'alice', telegram: alice.id }, 'bob'],
    telegram: { pollSeconds: 1 },
  });
});
afterEach(async () => {
  await bed?.teardown();
  await tg?.close();
});

/** `eventually` over something the stand-in holds in memory. */
const soon = <T>(read: () => T, done: (value: T) => boolean, timeoutMs: number) => eventually(() => Promise.resolve(read()), done, timeoutMs);
const sends = () => tg.calls.filter((c) => c.method === 'sendMessage');
/** The chat's message about the task (ours carry the task id in their last line). */
const messageOf = (taskId: string): StoredMessage | undefined => tg.messages(CHAT).find((m) => m.from.is_bot && m.text.endsWith(`\n${taskId}`));
const button = (m: StoredMessage, label: RegExp) => m.reply_markup!.inline_keyboard.flat().find((b) => label.test(b.text))!.callback_data!;

describe('the Telegram notifier and remote control', () => {
  it('ready → a press by someone unlisted is refused and answered → an approver’s press merges → the message is edited to merged', async () => {
    const client = SwarmClient.fromClient(env.client, bed.config);
    const repo = sampleRepo({ scenario: [FEATURE_DONE], ci: [{ name: 'lint', command: 'true' }] });
    await bed.run(async () => {
      await client.startTask(featureSpec('tg-merge', repo));
      const until = (done: (s: TaskState) => boolean) => eventually(() => client.getTask('tg-merge'), done, 120_000);
      const ready = await until((s) => s.status === 'awaiting_approval');
      const message = await soon(() => messageOf('tg-merge'), (m) => m?.reply_markup !== undefined, 20_000);

      // One message, sent with HTML parse mode: the title, the state, the PR, the Definition of Done.
      expect(message!.text).toContain('Add the feature');
      expect(message!.text).toContain('awaiting approval');
      expect(message!.text).toContain(`PR #1 (local://${repo}#1) (open) at ${ready.checks.pr!.headSha.slice(0, 12)}`);
      expect(message!.text).toContain('Definition of Done (met)');
      for (const item of ready.dod!.items) expect(message!.text).toContain(`${item.ok ? '✓' : '✗'} ${item.label}`);
      expect(message!.reply_markup!.inline_keyboard.flat().map((b) => b.text)).toEqual(['✅ Approve', '⏹️ Reject']);
      expect(sends().map((c) => c.params)).toEqual([expect.objectContaining({ chat_id: CHAT, parse_mode: 'HTML', reply_markup: message!.reply_markup })]);

      // /tasks lists the open tasks, in the chat.
      tg.say(CHAT, alice, '/tasks');
      const listing = await soon(() => tg.messages(CHAT).find((m) => m.from.is_bot && m.message_id > message!.message_id), (m) => m !== undefined, 20_000);
      expect(listing!.text).toMatch(/^Open tasks \(1\)\n• tg-merge awaiting approval · human gate: /);

      // Someone not on the list: refused, told why, and nothing reaches the workflow.
      const refusedPress = tg.press(CHAT, message!.message_id, mallory, button(message!, /Approve/));
      await soon(() => tg.answered.get(refusedPress), (a) => a !== undefined, 20_000);
      expect(tg.answered.get(refusedPress)).toEqual({ text: 'refused: Telegram user 666 is not an approver of this swarm', show_alert: true });
      expect((await client.getTask('tg-merge')).status).toBe('awaiting_approval');

      const press = tg.press(CHAT, message!.message_id, alice, button(message!, /Approve/));
      const merged = await until((s) => s.status === 'merged');
      // The workflow took it as a Telegram decision: the orchestrator's signature over alice's user id checked.
      expect(merged.decision).toMatchObject({ decision: 'approve', by: 'alice', channel: 'telegram' });
      await soon(() => tg.answered.get(press), (a) => a !== undefined, 20_000);
      expect(tg.answered.get(press)).toEqual({ text: `merged: tg-merge, PR #1 as ${merged.merge!.sha.slice(0, 12)}`, show_alert: false });

      // The same message, edited: merged, no buttons left; never a second sendMessage.
      const edited = await soon(() => messageOf('tg-merge'), (m) => m?.text.includes('merged') === true && !m.text.includes('awaiting'), 20_000);
      expect(edited!.message_id).toBe(message!.message_id);
      expect(edited).not.toHaveProperty('reply_markup');
      expect(edited!.text).toContain('Approved by alice');
      expect(edited!.text).toContain(`Merged as ${merged.merge!.sha.slice(0, 12)}`);
      expect(sends().filter((c) => c.params.reply_markup !== undefined)).toHaveLength(1);
      expect(tg.calls.filter((c) => c.method === 'editMessageText').length).toBeGreaterThanOrEqual(1);
      // Every call the notifier made was one Telegram takes.
      expect(tg.calls.filter((c) => c.status !== undefined && c.status !== 200 && !c.description?.startsWith('Bad Request: message is not modified'))).toEqual([]);

      // The press the workflow got is the contract's: signed by the orchestrator's key over the head the message showed.
      const history = await env.client.workflow.getHandle('task-tg-merge').fetchHistory();
      const update = history.events!.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes)!.workflowExecutionUpdateAcceptedEventAttributes!;
      const payload = update.acceptedRequest!.input!.args!.payloads![0]!;
      const input = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { decision: string; by: string; signed: { channel: 'telegram'; taskId: string; headSha: string; at: string; telegramUserId: number; signature: string } };
      expect(input).toMatchObject({ decision: 'approve', by: 'alice', signed: { channel: 'telegram', taskId: 'tg-merge', headSha: ready.checks.pr!.headSha, telegramUserId: alice.id } });
      const { signed } = input;
      expect(verifySignature(orchestratorKey(bed.config).publicKey, decisionMessage({ ...signed, decision: 'approve' }), signed.signature)).toBe(true);

      // Commands, in the chat, from a listed user only.
      tg.say(CHAT, alice, `/status tg-merge`);
      tg.say(CHAT, mallory, '/tasks');
      tg.say(CHAT, alice, '/tasks');
      const replies = await soon(() => tg.messages(CHAT).filter((m) => m.from.is_bot && m.message_id > listing!.message_id), (r) => r.length === 3, 20_000);
      expect(replies[0]!.text).toContain('merged');
      expect(replies[0]!.text).toContain('Add the feature');
      expect(replies[1]!.text).toBe('refused: Telegram user 666 is not an approver of this swarm');
      expect(replies[2]!.text).toBe('No open tasks.');
    });
  }, 240_000);

  it('a 429 with retry_after delays the message and then delivers it, once; the task does not wait for it', async () => {
    const client = SwarmClient.fromClient(env.client, bed.config);
    const repo = sampleRepo({ scenario: [FEATURE_DONE] });
    tg.floodNext('sendMessage', 3);
    await bed.run(async () => {
      await client.startTask(featureSpec('tg-flood', repo));
      await eventually(() => client.getTask('tg-flood'), (s) => s.status === 'awaiting_approval', 120_000);
      const flooded = await soon(() => sends(), (c) => c.length >= 1, 20_000);
      expect(flooded[0]!.status).toBe(429);
      // The task is waiting for approval already while its message waits out flood control.
      expect(messageOf('tg-flood')).toBeUndefined();
      const delivered = await soon(() => messageOf('tg-flood'), (m) => m !== undefined, 20_000);
      expect(delivered!.text).toContain('awaiting approval');
      const [first, second, ...rest] = sends();
      expect(rest).toEqual([]);
      expect(second!.status).toBe(200);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(3_000);
      expect(tg.messages(CHAT)).toHaveLength(1);
      // The sender marks the row sent once Telegram's answer is in: just after the stand-in has the message.
      const outbox = await eventually(
        async () => (await bed.database.db.query<{ event: string; status: string; attempts: number }>("SELECT event, status, attempts FROM telegram_outbox WHERE task_id = 'tg-flood'")).rows,
        (rows) => rows.every((r) => r.status !== 'sending'),
        20_000,
      );
      expect(outbox).toEqual([{ event: 'ready_for_approval', status: 'sent', attempts: 2 }]);
    });
  }, 240_000);

  it('escalated: the exact blocker and Retry; an approver’s Retry gives the task another attempt, and the same message follows it to ready', async () => {
    const client = SwarmClient.fromClient(env.client, bed.config);
    const repo = sampleRepo({ scenario: [{ print: ['giving up'], exitCode: 1 }, FEATURE_DONE] });
    await bed.run(async () => {
      await client.startTask(featureSpec('tg-retry', repo, { limits: { maxAttempts: 1 } }));
      const until = (done: (s: TaskState) => boolean) => eventually(() => client.getTask('tg-retry'), done, 120_000);
      const stuck = await until((s) => s.status === 'needs_human');
      const message = await soon(() => messageOf('tg-retry'), (m) => m?.text.includes('needs human') === true, 20_000);
      expect(message!.text).toContain(`Blocker: ${stuck.blocker!.slice(0, 200)}`);
      expect(message!.reply_markup!.inline_keyboard.flat().map((b) => b.text)).toEqual(['🔁 Retry']);

      const press = tg.press(CHAT, message!.message_id, alice, button(message!, /Retry/));
      await soon(() => tg.answered.get(press), (a) => a !== undefined, 30_000);
      expect(tg.answered.get(press)).toMatchObject({ show_alert: false, text: expect.not.stringMatching(/^refused/) });
      const ready = await until((s) => s.status === 'awaiting_approval');
      expect(ready.attempts).toHaveLength(2);
      // The second attempt's prompt carries the press as its guidance.
      const spawn = (await listArtifacts(bed.database.db, 'tg-retry')).find((a) => a.key === 'receipt:spawn:2');
      expect(spawn?.payload.prompt).toContain('retried from Telegram by alice');
      const edited = await soon(() => messageOf('tg-retry'), (m) => m?.text.includes('awaiting approval') === true, 20_000);
      expect(edited!.message_id).toBe(message!.message_id);
      expect(edited!.reply_markup!.inline_keyboard.flat().map((b) => b.text)).toEqual(['✅ Approve', '⏹️ Reject']);
      expect(sends()).toHaveLength(1);
    });
  }, 240_000);
});
