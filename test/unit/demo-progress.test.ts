// The demo's printing, fed the states the task workflow passes through around the approval: the
// state it reports between the merge and `done` still says awaiting_approval.
import { describe, expect, it } from '@jest/globals';
import { DemoProgress } from '../../client/commands/demo.ts';
import { initialState, note, type TaskState } from '../../workflows/task/state.ts';
import { parseTaskSpec } from '../../workflows/task/spec.ts';

const spec = parseTaskSpec({
  id: 'add-multiply',
  repository: '/srv/repos/calc',
  title: 'Add multiply()',
  description: 'Add multiply(a, b) next to add().',
  acceptanceCriteria: ['calc.multiply(4, 5) returns 20'],
  shape: 'backend',
});

/** The states a watcher sees, each a snapshot as the workflow changes it the way it does. */
function lifecycle(): TaskState[] {
  const state = initialState(spec, '2026-01-01T00:00:00Z');
  const seen: TaskState[] = [];
  const snap = (change: (s: TaskState) => void) => {
    change(state);
    seen.push(structuredClone(state));
  };
  snap(() => undefined);
  snap((s) => note(s, 't1', 'attempt 1: agent exited with 0, 1 commit(s)'));
  snap((s) => Object.assign(s, { step: 'gates' }));
  // A poll in which only something not shown changed (a check result).
  snap((s) => Object.assign(s, { checks: { ci: { status: 'passed' } } }));
  snap((s) => Object.assign(s, { step: 'human_gate', status: 'awaiting_approval', dod: { met: false, items: [{ label: 'Human approved', ok: false, detail: 'waiting for an approver' }] } }));
  snap((s) => Object.assign(s, { approval: { headSha: 'abc', requestedAt: 't2', lastReminderAt: 0 } }));
  snap((s) => {
    s.decision = { decision: 'approve', by: 'demo-reviewer', at: 't3' };
    note(s, 't3', 'approved by demo-reviewer: looks good');
  });
  snap((s) => {
    s.merge = { sha: 'abc', at: 't4' };
    note(s, 't4', 'merged PR #1 as abc');
  });
  snap((s) => Object.assign(s, { step: 'cleanup' }));
  snap((s) => Object.assign(s, { step: 'done', status: 'merged' }));
  return seen;
}

describe('swarm demo progress', () => {
  it('prints each change once, approves once, and never pairs a status with a step it cannot have', () => {
    const progress = new DemoProgress();
    const printed: string[] = [];
    let approvals = 0;
    for (const state of lifecycle()) {
      const { lines, approve } = progress.next(state);
      printed.push(...lines);
      if (approve) approvals++;
    }
    expect(approvals).toBe(1);
    expect(printed.filter((l) => l === 'approving as demo-reviewer…')).toHaveLength(1);
    const statusLines = printed.filter((l) => l.startsWith('  ['));
    expect(statusLines).toEqual([
      '  [running] step intake',
      '  [running] step intake     attempt 1: agent exited with 0, 1 commit(s)',
      '  [running] step gates      attempt 1: agent exited with 0, 1 commit(s)',
      '  [awaiting_approval] step human_gate attempt 1: agent exited with 0, 1 commit(s)',
      '  [awaiting_approval] step human_gate approved by demo-reviewer: looks good',
      '  [merged] step human_gate merged PR #1 as abc',
      '  [merged] step cleanup    merged PR #1 as abc',
      '  [merged] step done       merged PR #1 as abc',
    ]);
  });

  it('approves again when the task waits for approval again (the head moved after the approval)', () => {
    const progress = new DemoProgress();
    const waiting = { ...initialState(spec, 't0'), step: 'human_gate', status: 'awaiting_approval' } as TaskState;
    expect(progress.next(waiting).approve).toBe(true);
    expect(progress.next({ ...waiting, decision: { decision: 'approve', by: 'demo-reviewer', at: 't1' } }).approve).toBe(false);
    expect(progress.next({ ...waiting, step: 'gates', status: 'running' }).approve).toBe(false);
    expect(progress.next(waiting).approve).toBe(true);
  });
});
