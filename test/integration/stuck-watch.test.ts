// The stuck watch on its own, with a run's files written by hand (Claude Code's stream-json events,
// as its CLI writes them) in a real tmux session and a real worktree: what counts as the agent's
// loop, what a re-armed watch leaves out, and the agent's files read as data only.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgentActivities, type AgentActivities } from '../../activities/agents/index.ts';
import { agentPaths, type AttemptFiles } from '../../activities/agents/paths.ts';
import { worktreeTree } from '../../activities/agents/stuck-watch.ts';
import { createTmux, type Tmux } from '../../activities/agents/tmux.ts';
import { git } from '../../activities/git.ts';
import { createTestRepo } from '../harness/agents.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

let database: TestDatabase;
let stateDir: string;
let agents: AgentActivities;
let repo: string;
let tmux: Tmux;

beforeAll(async () => {
  database = await freshDatabase();
  const dir = tempDir('stuck-watch');
  stateDir = join(dir, 'state');
  agents = createAgentActivities({ stateDir, db: database.db });
  repo = await createTestRepo(join(dir, 'repo'));
  tmux = createTmux(agentPaths(stateDir).socket);
});

afterAll(async () => {
  await tmux.run(['kill-server']);
  await database.drop();
});

/** Claude Code's events for one Bash call and its failed result, stamped `at`. */
let calls = 0;
function failedRun(command: string, at = new Date()): string {
  const id = `toolu_${++calls}`;
  const timestamp = at.toISOString();
  const use = { type: 'assistant', timestamp, message: { role: 'assistant', content: [{ type: 'tool_use', id, name: 'Bash', input: { command, description: 'Run it' } }] } };
  const result = { type: 'user', timestamp, message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'Exit code 1\nnot ok 1 - multiply', is_error: true }] } };
  return `${JSON.stringify(use)}\n${JSON.stringify(result)}\n`;
}

/** A headless Claude Code run of attempt 1 as spawnAgent leaves it, its session a `sleep` in tmux. */
async function liveRun(taskId: string): Promise<{ files: AttemptFiles; worktree: string; end: () => Promise<void> }> {
  const { worktree } = await agents.prepareWorkspace({ taskId, repository: repo, baseBranch: 'main' });
  const files = agentPaths(stateDir).attempt(taskId, 1);
  mkdirSync(files.inbox, { recursive: true });
  writeFileSync(files.agentFile, JSON.stringify({ name: 'claude', kind: 'claude', model: 'claude-sonnet-4-5', headless: true, home: join(stateDir, 'home'), sessionId: 'sid', startedAt: new Date().toISOString() }));
  writeFileSync(files.eventsFile, '');
  await tmux.run(['new-session', '-d', '-s', `swarm-${taskId}`, '-e', 'SWARM_ATTEMPT=1', '--', 'sleep', '600']);
  return { files, worktree, end: async () => void (await tmux.run(['kill-session', '-t', `=swarm-${taskId}`])) };
}

const LIMITS = { repeats: 4, idleMinutes: 15 };
/** Time for the watch to read (it reads every 2 s): the tests wait for it, they assert nothing about how long it took. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchForStuck', () => {
  it('calls four failing runs of one command stuck, timed by the events, and says so as soon as it reads them', async () => {
    const { files, worktree, end } = await liveRun('watch-loop');
    const first = new Date(Date.now() - 5_000);
    appendFileSync(files.eventsFile, [0, 1, 2, 3].map((i) => failedRun('npm test', new Date(first.getTime() + i * 1_000))).join(''));
    try {
      const watched = await agents.watchForStuck({ taskId: 'watch-loop', attempt: 1, worktree, limits: LIMITS, eventsOffset: 0 });
      expect(watched).toMatchObject({ stuck: true, verdict: { stuck: true, reason: 'repeated_failing_command', what: 'npm test', times: 4 } });
      // The first repeat is the second run, by its event's own time.
      expect(watched.stuck && watched.firstRepeatAtMs).toBe(first.getTime() + 1_000);
    } finally {
      await end();
    }
  });

  it('re-armed after a correction, leaves out the calls made before the session took it: the old loop is not a new one', async () => {
    const { files, worktree, end } = await liveRun('watch-rearmed');
    const message = `${'1'.padStart(15, '0')}-00000000-0000-4000-8000-000000000000.now.msg`;
    writeFileSync(join(files.inbox, message), 'stop repeating it');
    appendFileSync(files.eventsFile, failedRun('npm test'));
    const rearmed = agents.watchForStuck({ taskId: 'watch-rearmed', attempt: 1, worktree, limits: LIMITS, eventsOffset: 0, afterCorrection: message });
    await pause(2_500);
    // The turn still loops while the runner interrupts it: more failing runs land before it takes the message.
    appendFileSync(files.eventsFile, [1, 2, 3, 4].map(() => failedRun('npm test')).join(''));
    renameSync(join(files.inbox, message), join(files.inbox, `${message}.sent`));
    // The resumed turn runs it twice more: not enough for a loop of its own.
    appendFileSync(files.eventsFile, failedRun('npm test') + failedRun('npm test'));
    await pause(2_500);
    await end();
    expect(await rearmed).toEqual({ stuck: false, eventsOffset: expect.any(Number) });
  });

  it("hashes the worktree's content through our git dir: an edit changes the tree, and nothing is written into either repository", async () => {
    const { worktree, end } = await liveRun('watch-tree');
    await end();
    const scratch = tempDir('stuck-watch-scratch');
    const objects = async (dir: string) => (await git(dir, ['count-objects'])).stdout;
    const [oursBefore, cloneBefore] = [await objects(repo), await objects(worktree)];
    const before = await worktreeTree(repo, worktree, scratch);
    expect(before).toMatch(/^[0-9a-f]{40}$/);
    expect(await worktreeTree(repo, worktree, scratch)).toBe(before);
    writeFileSync(join(worktree, 'calc.mjs'), 'export const multiply = (a, b) => a * b;\n');
    const after = await worktreeTree(repo, worktree, scratch);
    expect(after).not.toBe(before);
    expect([await objects(repo), await objects(worktree)]).toEqual([oursBefore, cloneBefore]);
    expect((await git(worktree, ['status', '--porcelain'])).stdout).toBe('?? calc.mjs');
  });

  it('reads nothing through an events file the agent replaced with a symlink to a file of ours', async () => {
    const { files, worktree, end } = await liveRun('watch-hostile');
    const ours = join(stateDir, 'ours.jsonl');
    writeFileSync(ours, [0, 1, 2, 3].map(() => failedRun('npm test')).join(''));
    rmSync(files.eventsFile);
    symlinkSync(ours, files.eventsFile);
    const linked = agents.watchForStuck({ taskId: 'watch-hostile', attempt: 1, worktree, limits: LIMITS, eventsOffset: 0 });
    await pause(2_500);
    await end();
    expect(await linked).toEqual({ stuck: false, eventsOffset: 0 });
  });
});
