// The task's Telegram message: what it says at each status, its buttons only while they can act,
// and text Telegram's HTML parser takes (escaped, within 4096 visible characters) whatever the
// task's own text holds.
import { describe, expect, it } from '@jest/globals';
import { renderTask } from '../../activities/notify/telegram/render.ts';
import { initialState, type TaskState } from '../../workflows/task/state.ts';
import { parseTaskSpec } from '../../workflows/task/spec.ts';
import type { DodItem, PullRequest } from '../../workflows/task/types.ts';
import { parseHtml } from '../harness/telegram/methods.ts';

const spec = parseTaskSpec({ id: 'fix-login', repository: 'acme/web', title: 'Fix <login> & "signup"', description: 'd', acceptanceCriteria: ['c'], shape: 'backend' });
const pr: PullRequest = { number: 7, branch: 'swarm/fix-login', base: 'main', headSha: 'a'.repeat(40), state: 'open', title: 't', body: '', url: 'https://github.com/acme/web/pull/7' };
const item = (key: DodItem['key'], ok: boolean, detail: string): DodItem => ({ key, label: key.replace(/_/g, ' '), ok, detail });
const state = (over: Partial<TaskState>): TaskState => ({ ...initialState(spec, '2026-12-02T00:00:00.000Z'), checks: { pr }, ...over });
const event = { taskId: 'fix-login', title: 'Ready for approval: Fix login', message: 'PR #7 meets the Definition of Done' };

/** What Telegram shows of it, or its refusal. */
function shown(text: string): string {
  const parsed = parseHtml(text);
  if ('error' in parsed) throw new Error(parsed.error);
  expect(parsed.plain.length).toBeLessThanOrEqual(4096);
  return parsed.plain;
}

describe('the Telegram message of a task', () => {
  it('ready for approval: title, status, PR link, cost, the Definition of Done item by item, Approve and Reject bound to the head', () => {
    const ready = state({
      status: 'awaiting_approval',
      step: 'human_gate',
      approval: { headSha: pr.headSha, requestedAt: '2026-12-02T01:00:00.000Z', lastReminderAt: 0 },
      usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, costUsd: 0.4213, runs: 2 },
      dod: { readyForApproval: true, items: [item('pr_exists', true, 'PR #7 (open)'), item('ci_passed', true, 'passed: tests'), item('human_approved', false, 'waiting for an approver')] },
    });
    const m = renderTask(ready, event);
    expect(m.text).toContain('<b>Fix &lt;login&gt; &amp; "signup"</b>');
    expect(m.text).toContain('<a href="https://github.com/acme/web/pull/7">PR #7</a>');
    expect(shown(m.text).split('\n')).toEqual([
      'Fix <login> & "signup"',
      '🟢 awaiting approval · step human gate · attempt 1/3',
      'PR #7 (open) at aaaaaaaaaaaa',
      'Cost: $0.4213 (2 agent runs)',
      '',
      'Definition of Done (met)',
      '✓ pr exists: PR #7 (open)',
      '✓ ci passed: passed: tests',
      '✗ human approved: waiting for an approver',
      '',
      'fix-login',
    ]);
    expect(m.buttons.map((b) => b.action)).toEqual(['approve', 'reject']);
    expect(m.headSha).toBe(pr.headSha);
  });

  it('escalated: the exact blocker and a Retry button; merged and failed: the outcome and no buttons', () => {
    const blocker = 'CI failed 3 times: `npm test` <exit 1> & the agent gave up';
    const escalated = renderTask(state({ status: 'needs_human', step: 'gates', blocker }), event);
    expect(shown(escalated.text)).toContain(`Blocker: ${blocker}`);
    expect(escalated.buttons.map((b) => b.action)).toEqual(['retry']);
    const merged = renderTask(state({ status: 'merged', step: 'done', merge: { sha: 'b'.repeat(40), at: 'x' }, decision: { decision: 'approve', by: 'alice', at: 'x' }, outcome: { status: 'merged', step: 'human_gate', summary: 'merged PR #7' } }), event);
    expect(shown(merged.text)).toMatch(/✅ merged[^]*Outcome: merged PR #7\nMerged as bbbbbbbbbbbb\nApproved by alice/);
    expect(merged.buttons).toEqual([]);
    const failed = renderTask(state({ status: 'failed', step: 'done', outcome: { status: 'failed', step: 'spawn', summary: 'the install failed' } }), event);
    expect(shown(failed.text)).toContain('❌ failed');
    expect(failed.buttons).toEqual([]);
  });

  it('a PR link Telegram would refuse (the local forge) is shown as text; no state: what the event said', () => {
    const local = renderTask(state({ checks: { pr: { ...pr, url: 'local:///srv/repo#7' } } }), event);
    expect(local.text).not.toContain('<a ');
    expect(shown(local.text)).toContain('PR #7 (local:///srv/repo#7) (open)');
    const bare = renderTask(undefined, { ...event, link: 'https://github.com/acme/web/pull/7' });
    expect(shown(bare.text)).toBe('Ready for approval: Fix login\nPR #7 meets the Definition of Done\nPR\nfix-login');
    expect(bare.buttons).toEqual([]);
  });

  it('stays within 4096 visible characters however long the Definition of Done, and says what it cut', () => {
    const items = Array.from({ length: 60 }, (_, i) => item('reviews_passed', i % 2 === 0, `${'&<>'.repeat(40)} reviewer ${i}`));
    const m = renderTask(state({ status: 'awaiting_approval', dod: { readyForApproval: true, items } }), event);
    const text = shown(m.text);
    expect(text.length).toBeLessThanOrEqual(4096);
    expect(text).toMatch(/… \d+ more lines: swarmflow task status has them\n\nfix-login$/);
  });
});
