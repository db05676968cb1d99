// What the Web UI's current details and `swarm task status` say: only completed steps are ticked,
// the step a task stopped or waits at says why, and the commands that move it on are shown.
import { describe, expect, it } from '@jest/globals';
import { initialState, renderDetails, type TaskState } from '../../workflows/task/state.ts';
import { parseTaskSpec } from '../../workflows/task/spec.ts';
import type { Step, TaskStatus } from '../../workflows/task/types.ts';

const spec = parseTaskSpec({ id: 'demo', repository: '/srv/repo', title: 'Add multiply', description: 'd', acceptanceCriteria: ['c'], shape: 'backend' });
const state = (over: Partial<TaskState>): TaskState => ({ ...initialState(spec, '2026-12-02T00:00:00.000Z'), ...over });
const steps = (s: TaskState) => renderDetails(s).split('\n').filter((l) => /^- (✅|▶️|✋|❌|⏹️|⬜) \d\./.test(l));
const ended = (status: TaskStatus, step: Step, summary: string) => state({ status, step: 'done', outcome: { status, step, summary } });

describe('the steps in the details', () => {
  it('a task that failed at intake ticks nothing and says why at intake', () => {
    const lines = steps(ended('failed', 'intake', 'failed at intake: repository /srv/repo does not exist'));
    expect(lines[0]).toBe('- ❌ 1. Intake & scope — failed at intake: repository /srv/repo does not exist');
    expect(lines.slice(1).every((l) => l.startsWith('- ⬜'))).toBe(true);
    expect(lines).toHaveLength(8);
  });

  it('an abort during the monitor ticks the three steps before it', () => {
    const lines = steps(ended('aborted', 'monitor', 'aborted by op: wrong repo'));
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['✅', '✅', '✅', '⏹️', '⬜', '⬜', '⬜', '⬜']);
    expect(lines[3]).toBe('- ⏹️ 4. Monitor — aborted by op: wrong repo');
  });

  it('a rejection at the gate ticks steps 1-7', () => {
    const lines = steps(ended('rejected', 'human_gate', 'rejected by alice: not this way'));
    expect(lines.filter((l) => l.startsWith('- ✅'))).toHaveLength(7);
    expect(lines[7]).toBe('- ⏹️ 8. Human approval, merge, cleanup — rejected by alice: not this way');
  });

  it('a merged task ticks all 8 and has nothing next', () => {
    const done = ended('merged', 'human_gate', 'merged PR #1 as abc');
    expect(steps(done).every((l) => l.startsWith('- ✅'))).toBe(true);
    expect(renderDetails(done)).toContain('**Outcome**: merged PR #1 as abc');
    expect(renderDetails(done)).not.toContain('**Next**');
  });

  it('a task waiting for a human shows the blocker at its step, and how to go on', () => {
    const waiting = state({ status: 'needs_human', step: 'gates', blocker: '3 attempt(s) used; last failure: CI failed' });
    expect(steps(waiting)[6]).toBe('- ✋ 7. Gates: CI verdict, screenshots, policy, Definition of Done — needs a human: 3 attempt(s) used; last failure: CI failed');
    expect(renderDetails(waiting)).toContain('- continue: `swarmflow retry demo "<guidance>"`');
  });

  it('a task ready for approval says how to approve or reject', () => {
    const ready = state({ status: 'awaiting_approval', step: 'human_gate', dod: { readyForApproval: true, items: [] } });
    expect(renderDetails(ready)).toContain('- approve: `swarmflow approve demo --by <you>`');
    expect(steps(ready)[7]).toBe('- ▶️ 8. Human approval, merge, cleanup');
  });
});

describe('the links in the details', () => {
  const session = { session: 'swarm-demo', attempt: 2, run: 1, promptFile: '/s/tasks/demo/attempt-2/prompt.md', logFile: '/s/tasks/demo/attempt-2/agent.log', exitFile: '/s/tasks/demo/attempt-2/exit-code', keptLogs: '/s/logs/demo/run-a', startedAt: '2026-12-02T00:00:00.000Z' };

  it('while the agent runs: its live log and how to follow it', () => {
    const details = renderDetails(state({ step: 'monitor', runKey: 'run-a', session }));
    expect(details).toContain('- tmux session `swarm-demo`, log `/s/tasks/demo/attempt-2/agent.log`');
    expect(details).toContain('- agent logs: `swarmflow logs demo --run run-a --attempt 2 --follow`, kept in `/s/logs/demo/run-a`');
  });

  it('after cleanup: only the kept logs, which outlive the task', () => {
    const details = renderDetails({ ...ended('aborted', 'monitor', 'aborted'), runKey: 'run-a', session });
    expect(details).not.toContain('/s/tasks/demo');
    expect(details).toContain('- agent logs: `swarmflow logs demo --run run-a --attempt 2`, kept in `/s/logs/demo/run-a`');
  });
});
