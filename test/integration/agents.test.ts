// Agents on the host with real git, real tmux (on the activities' own socket) and real Postgres.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAgentActivities, type AgentActivities } from '../../activities/agents/index.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { createTmux } from '../../activities/agents/tmux.ts';
import { git, revParse } from '../../activities/git.ts';
import { isAlive } from '../../lib/process.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { ConfigSchema } from '../../lib/config.ts';
import type { AgentCommand } from '../../workflows/task/types.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { processEnv } from '../harness/process-env.ts';
import { createTestRepo, until } from '../harness/agents.ts';
import { tempDir } from '../harness/paths.ts';

const SCRIPTED_AGENT = join(PROJECT_ROOT, 'activities', 'agents', 'scripted-agent.mjs');

let database: TestDatabase;
let dir: string;
let stateDir: string;
let agents: AgentActivities;
let repo: string;

beforeAll(async () => {
  database = await freshDatabase();
  dir = tempDir('agents');
  stateDir = join(dir, 'state');
  // The session machinery, unsandboxed: its scenarios and probes live in the test's folder, which a
  // sandbox hides (test/integration/sandbox.test.ts runs agents sandboxed).
  agents = createAgentActivities({ stateDir, db: database.db, limits: UNSANDBOXED });
  repo = await createTestRepo(join(dir, 'repo'));
});

afterAll(async () => {
  await createTmux(agentPaths(stateDir).socket).run(['kill-server']);
  await database.drop();
});

const UNSANDBOXED = { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'off' as const };

let scenarios = 0;
function scriptedAgent(steps: unknown[]): AgentCommand {
  const file = join(dir, `scenario-${++scenarios}.json`);
  writeFileSync(file, JSON.stringify({ steps }));
  return { name: 'scripted', command: ['node', SCRIPTED_AGENT, file], passEnv: [] };
}

const shellAgent = (script: string): AgentCommand => ({ name: 'sh', command: ['sh', '-c', script], passEnv: [] });

async function spawnRows(taskId: string): Promise<Array<{ attempt: number; spawns: number }>> {
  const { rows } = await database.db.query<{ attempt: number; spawns: number }>('SELECT attempt, spawns FROM agent_spawns WHERE task_id = $1 ORDER BY attempt', [taskId]);
  return rows;
}

describe('prepareWorkspace', () => {
  it('adds a worktree on swarm/<id> from the base, and returns the same one when run again', async () => {
    const first = await agents.prepareWorkspace({ taskId: 'ws-idem', repository: repo, baseBranch: 'main' });
    expect(first).toEqual({
      worktree: join(stateDir, 'worktrees', 'ws-idem'),
      branch: 'swarm/ws-idem',
      baseSha: await revParse(repo, 'main'),
      port: expect.any(Number),
      bootstrap: { copied: [], missing: [] },
    });
    expect(await revParse(first.worktree, 'HEAD')).toBe(first.baseSha);
    expect(await agents.prepareWorkspace({ taskId: 'ws-idem', repository: repo, baseBranch: 'main' })).toEqual(first);

    // Its folder deleted behind git's back: pruned and added again, on the same branch.
    rmSync(first.worktree, { recursive: true, force: true });
    expect(await agents.prepareWorkspace({ taskId: 'ws-idem', repository: repo, baseBranch: 'main' })).toEqual(first);
    expect(existsSync(join(first.worktree, 'README.md'))).toBe(true);
  });

  it('refuses a missing base branch or a folder that is no repository, without retrying', async () => {
    await expect(agents.prepareWorkspace({ taskId: 'ws-bad', repository: repo, baseBranch: 'nope' })).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    // `dir` lies inside the project's own repository: only a repository's top level counts.
    for (const notRepository of [dir, join(repo, '.git'), join(dir, 'missing')]) {
      await expect(agents.prepareWorkspace({ taskId: 'ws-bad', repository: notRepository, baseBranch: 'main' })).rejects.toMatchObject({
        type: 'InvalidInput',
        message: expect.stringContaining('is not a git repository'),
      });
    }
  });
});

describe('an agent attempt', () => {
  it('runs the agent in its worktree: it edits and commits, and its exit, commits and log are reported', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'happy', runKey: 'run-happy', repository: repo, baseBranch: 'main' });
    const agent = scriptedAgent([{ files: { 'src/sum.js': 'export const sum = (a, b) => a + b;\n' }, commit: 'add sum', print: ['working on it'] }]);
    const prompt = '# Add sum\n\nWrite src/sum.js.\n';
    const session = await agents.spawnAgent({ taskId: 'happy', attempt: 1, runKey: 'run-happy', worktree: ws.worktree, agent, prompt });
    const files = agentPaths(stateDir).attempt('happy', 1);
    const keptLogs = join(stateDir, 'logs', 'happy', 'run-happy');
    expect(session).toEqual({ session: 'swarm-happy', attempt: 1, run: 1, promptFile: files.promptFile, logFile: files.logFile, exitFile: files.exitFile, keptLogs, startedAt: expect.any(String), isolation: 'none (host.sandbox "off")' });
    expect(readFileSync(session.promptFile, 'utf8')).toBe(prompt);

    const exit = await agents.awaitAgentExit({ taskId: 'happy', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    expect(exit).toMatchObject({ exitCode: 0, commits: 1, headSha: await revParse(ws.worktree, 'swarm/happy') });
    expect(exit.logTail).toContain('Write src/sum.js.');
    expect(exit.logTail).toContain('working on it');
    expect(exit.logTail).toContain('committed: add sum');
    expect(readFileSync(join(ws.worktree, 'src/sum.js'), 'utf8')).toContain('a + b');
    expect(await agents.sessionAlive({ taskId: 'happy' })).toEqual({ alive: false });
    // The attempt's end keeps its log, whole, where it outlives the task.
    expect(gunzipSync(readFileSync(join(keptLogs, 'attempt-1', 'agent.log.gz'))).toString()).toBe(readFileSync(files.logFile, 'utf8'));

    // A re-run after the attempt finished finds its recorded exit: nothing is spawned again.
    expect(await agents.spawnAgent({ taskId: 'happy', attempt: 1, runKey: 'run-happy', worktree: ws.worktree, agent, prompt })).toEqual(session);
    expect(await agents.awaitAgentExit({ taskId: 'happy', attempt: 1, worktree: ws.worktree, baseBranch: 'main' })).toEqual(exit);
    expect(await spawnRows('happy')).toEqual([{ attempt: 1, spawns: 1 }]);
  });

  it('spawns once per attempt: a re-run while the agent runs returns the same session', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'idem', repository: repo, baseBranch: 'main' });
    const agent = scriptedAgent([{ sleepMs: 2_000, print: ['done'] }]);
    const first = await agents.spawnAgent({ taskId: 'idem', attempt: 1, worktree: ws.worktree, agent, prompt: 'p' });
    expect(await agents.sessionAlive({ taskId: 'idem' })).toEqual({ alive: true });
    const again = await Promise.all([1, 2].map(() => agents.spawnAgent({ taskId: 'idem', attempt: 1, worktree: ws.worktree, agent, prompt: 'p' })));
    expect(again).toEqual([first, first]);
    expect(await spawnRows('idem')).toEqual([{ attempt: 1, spawns: 1 }]);
    expect(await agents.awaitAgentExit({ taskId: 'idem', attempt: 1, worktree: ws.worktree, baseBranch: 'main' })).toMatchObject({ exitCode: 0, commits: 0 });
    // The log holds one run: the agent did not start twice.
    expect(readFileSync(first.logFile, 'utf8').match(/--- prompt/g)).toHaveLength(1);
  });

  it('reports a non-zero exit', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'fails', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'fails', attempt: 1, worktree: ws.worktree, agent: scriptedAgent([{ print: ['cannot do it'], exitCode: 3 }]), prompt: 'p' });
    const exit = await agents.awaitAgentExit({ taskId: 'fails', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    expect(exit).toMatchObject({ exitCode: 3, commits: 0, headSha: ws.baseSha });
    expect(exit.logTail).toContain('cannot do it');
  });

  it('reads its log only as the file the wrapper wrote: a log the agent swapped for a link to a secret is neither tailed nor kept', async () => {
    const secret = join(dir, 'shadow');
    writeFileSync(secret, 'root:$6$the-secret-hash\n');
    const ws = await agents.prepareWorkspace({ taskId: 'swap-log', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'swap-log', attempt: 1, worktree: ws.worktree, agent: shellAgent(`log="$(dirname "$SWARM_PROMPT_FILE")/agent.log"; rm "$log"; ln -s '${secret}' "$log"`), prompt: 'p' });
    const exit = await agents.awaitAgentExit({ taskId: 'swap-log', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    expect(exit.logTail).toBe("[swarmflow: the agent's log was not read: a symlink]");
    const kept = join(stateDir, 'logs', 'swap-log', 'unkeyed', 'attempt-1');
    expect(readdirSync(kept)).not.toContain('agent.log.gz');
    expect(readFileSync(join(kept, 'attempt.json'), 'utf8')).toContain('"agent.log": "a symlink"');
    await agents.cleanupTask({ taskId: 'swap-log', repository: repo, deleteBranch: true });
  });

  it('is not frozen by a FIFO the agent planted where its exit code goes: the wrapper\'s exit code is read once it is written', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'fifo-exit', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'fifo-exit', attempt: 1, worktree: ws.worktree, agent: shellAgent('mkfifo "$(dirname "$SWARM_PROMPT_FILE")/exit-code"; sleep 3; exit 4'), prompt: 'p' });
    // A plain read of the FIFO would block the worker's event loop for good; this poll goes on.
    expect(await agents.awaitAgentExit({ taskId: 'fifo-exit', attempt: 1, worktree: ws.worktree, baseBranch: 'main' })).toMatchObject({ exitCode: 4 });
    await agents.cleanupTask({ taskId: 'fifo-exit', repository: repo, deleteBranch: true });
  });

  it('reports exitCode null when the session is killed from outside', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'killed', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'killed', attempt: 1, worktree: ws.worktree, agent: scriptedAgent([{ sleepMs: 60_000 }]), prompt: 'p' });
    const waiting = agents.awaitAgentExit({ taskId: 'killed', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    await createTmux(agentPaths(stateDir).socket).run(['kill-session', '-t', '=swarm-killed']);
    expect(await waiting).toMatchObject({ exitCode: null, commits: 0 });
    expect(await agents.sessionAlive({ taskId: 'killed' })).toEqual({ alive: false });
  });

  it('replaces the previous attempt\'s session with the next attempt, which picks its own scenario step', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'retry', repository: repo, baseBranch: 'main' });
    const agent = scriptedAgent([{ sleepMs: 60_000 }, { files: { 'fix.txt': 'fixed\n' }, commit: 'fix', print: ['second try'] }]);
    await agents.spawnAgent({ taskId: 'retry', attempt: 1, worktree: ws.worktree, agent, prompt: 'first prompt' });
    await agents.spawnAgent({ taskId: 'retry', attempt: 2, worktree: ws.worktree, agent, prompt: 'narrowed prompt' });
    expect(await agents.awaitAgentExit({ taskId: 'retry', attempt: 1, worktree: ws.worktree, baseBranch: 'main' })).toMatchObject({ exitCode: null });
    const exit = await agents.awaitAgentExit({ taskId: 'retry', attempt: 2, worktree: ws.worktree, baseBranch: 'main' });
    expect(exit).toMatchObject({ exitCode: 0, commits: 1 });
    expect(exit.logTail).toContain('--- prompt (attempt 2) ---\nnarrowed prompt');
    expect(await spawnRows('retry')).toEqual([
      { attempt: 1, spawns: 1 },
      { attempt: 2, spawns: 1 },
    ]);
  });

  it('awaitAgentExit heartbeats every poll and stops when the activity is cancelled', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'cancel', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'cancel', attempt: 1, worktree: ws.worktree, agent: scriptedAgent([{ sleepMs: 60_000 }]), prompt: 'p' });
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => (beats += 1));
    const waiting = env.run(agents.awaitAgentExit, { taskId: 'cancel', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    await until('two heartbeats', () => beats >= 2);
    env.cancel();
    await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
    // Cancelling the wait leaves the agent alone; cleanup is a separate decision.
    expect(await agents.sessionAlive({ taskId: 'cancel' })).toEqual({ alive: true });
    await agents.cleanupTask({ taskId: 'cancel', repository: repo, deleteBranch: true });
  });
});

describe('worktree bootstrap', () => {
  it('copies the env files git does not carry, runs the install, allocates a port, and does it once', async () => {
    writeFileSync(join(repo, '.env'), 'API_URL=http://localhost\n');
    const bootstrap = { envFiles: ['.env', '.env.local'], install: { command: 'echo installed >> install-count.txt && test -f .env', timeoutMs: 10_000 } };
    const ws = await agents.prepareWorkspace({ taskId: 'boot', repository: repo, baseBranch: 'main', bootstrap });
    expect(ws.bootstrap).toEqual({ copied: ['.env'], missing: ['.env.local'], install: { exitCode: 0, durationMs: expect.any(Number), logFile: join(stateDir, 'tasks', 'boot', 'bootstrap.log') } });
    expect(readFileSync(join(ws.worktree, '.env'), 'utf8')).toBe('API_URL=http://localhost\n');
    expect(ws.port).toBeGreaterThan(0);
    // A re-run (a retried activity) changes nothing: same port, install not run again.
    expect(await agents.prepareWorkspace({ taskId: 'boot', repository: repo, baseBranch: 'main', bootstrap })).toEqual(ws);
    expect(readFileSync(join(ws.worktree, 'install-count.txt'), 'utf8')).toBe('installed\n');

    // The agent gets the port as SWARM_PORT.
    const session = await agents.spawnAgent({ taskId: 'boot', attempt: 1, worktree: ws.worktree, agent: shellAgent('echo "port=$SWARM_PORT"'), prompt: 'p', port: ws.port });
    await until('the agent to exit', () => existsSync(session.exitFile));
    expect(readFileSync(session.logFile, 'utf8')).toContain(`port=${ws.port}`);
    await agents.cleanupTask({ taskId: 'boot', repository: repo, deleteBranch: true });
    rmSync(join(repo, '.env'));
  });

  it('fails the task clearly when the install fails, and refuses an env file that leaves the repository', async () => {
    const failing = { envFiles: [], install: { command: 'echo "npm ERR! missing lockfile" && exit 3', timeoutMs: 10_000 } };
    await expect(agents.prepareWorkspace({ taskId: 'boot-fail', repository: repo, baseBranch: 'main', bootstrap: failing })).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
      message: expect.stringMatching(/bootstrap install `echo .*` exited with 3:\nnpm ERR! missing lockfile/),
    });
    symlinkSync('/etc/hostname', join(repo, 'linked.env'));
    await expect(agents.prepareWorkspace({ taskId: 'boot-link', repository: repo, baseBranch: 'main', bootstrap: { envFiles: ['linked.env'] } })).rejects.toMatchObject({
      type: 'InvalidInput',
      message: 'bootstrap env file linked.env resolves outside the repository',
    });
    rmSync(join(repo, 'linked.env'));
    for (const taskId of ['boot-fail', 'boot-link']) await agents.cleanupTask({ taskId, repository: repo, deleteBranch: true });
  });
});

describe("the agent's environment", () => {
  it('is the allow-list only: no worker secret, even on a tmux server started from a worker holding one', async () => {
    // A state folder of its own, so this test's tmux server is started while the secret is set.
    const isolatedState = join(dir, 'state-env');
    const isolated = createAgentActivities({ stateDir: isolatedState, db: database.db, limits: UNSANDBOXED });
    const tmux = createTmux(agentPaths(isolatedState).socket);
    process.env.SWARM_FAKE_SECRET = 'hunter2-secret-value';
    process.env.SWARM_PASSED_THROUGH = 'passed value';
    try {
      const ws = await isolated.prepareWorkspace({ taskId: 'env', repository: repo, baseBranch: 'main' });
      const agent: AgentCommand = {
        name: 'env-dump',
        command: ['node', '-e', 'console.log(JSON.stringify({ pid: process.pid, env: process.env })); setTimeout(() => {}, 60_000)'],
        passEnv: ['SWARM_PASSED_THROUGH', 'SWARM_UNSET_VARIABLE'],
      };
      const session = await isolated.spawnAgent({ taskId: 'env', attempt: 1, worktree: ws.worktree, agent, prompt: 'p' });
      await until('the env dump', () => existsSync(session.logFile) && readFileSync(session.logFile, 'utf8').includes('"env"'));
      const { pid, env } = JSON.parse(readFileSync(session.logFile, 'utf8')) as { pid: number; env: Record<string, string> };

      expect(Object.keys(env).sort()).toEqual(['GIT_AUTHOR_EMAIL', 'GIT_AUTHOR_NAME', 'GIT_COMMITTER_EMAIL', 'GIT_COMMITTER_NAME', 'HOME', 'LANG', 'PATH', 'SWARM_ATTEMPT', 'SWARM_PASSED_THROUGH', 'SWARM_PROMPT_FILE', 'SWARM_TASK_ID', 'TERM', 'TMPDIR']);
      expect(env).toMatchObject({
        HOME: join(isolatedState, 'tasks', 'env', 'home'),
        SWARM_TASK_ID: 'env',
        SWARM_ATTEMPT: '1',
        SWARM_PROMPT_FILE: session.promptFile,
        SWARM_PASSED_THROUGH: 'passed value',
        PATH: process.env.PATH,
      });
      expect(existsSync(env.HOME!)).toBe(true);
      // The values were read from a file the wrapper deleted as the agent started; its script holds none.
      const files = agentPaths(isolatedState).attempt('env', 1);
      expect(existsSync(files.envFile)).toBe(false);
      expect(readFileSync(files.wrapper, 'utf8')).not.toContain('passed value');
      // Nor does the tmux server (whose environment every pane inherits) hold it.
      const serverEnv = await tmux.run(['show-environment', '-g']);
      expect(serverEnv.stdout).not.toContain('hunter2');
      expect(serverEnv.stdout).not.toContain('SWARM_FAKE_SECRET');
      expect(readFileSync(session.logFile, 'utf8')).not.toContain('hunter2');

      // Cleanup kills the live agent (its whole process group) and removes its home.
      const removed = await isolated.cleanupTask({ taskId: 'env', repository: repo, deleteBranch: true });
      expect(removed).toEqual({ session: true, worktree: true, branch: true, taskFiles: true, leftovers: 0, logsKept: 1 });
      await until('the agent process to be gone', () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      });
      expect(existsSync(env.HOME!)).toBe(false);
    } finally {
      delete process.env.SWARM_FAKE_SECRET;
      delete process.env.SWARM_PASSED_THROUGH;
      await tmux.run(['kill-server']);
    }
  });
});

describe('a CLI agent that cannot start on this host', () => {
  it('is refused at spawn with what to fix, before any session starts: no key, no binary', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'no-cli', repository: repo, baseBranch: 'main' });
    const codex = (command: string): AgentCommand => ({ name: 'codex', kind: 'codex', command: [command], passEnv: [], model: 'gpt-5-codex', apiKeyEnv: 'SWARM_TEST_CODEX_KEY' });
    const spawn = (agent: AgentCommand) => agents.spawnAgent({ taskId: 'no-cli', attempt: 1, worktree: ws.worktree, agent, prompt: 'p' });
    const vars = processEnv();
    vars.unset('SWARM_TEST_CODEX_KEY');
    await expect(spawn(codex('codex'))).rejects.toMatchObject({ type: 'AgentMisconfigured', nonRetryable: true, message: expect.stringContaining('needs an API key: set SWARM_TEST_CODEX_KEY in the environment of the host worker') });
    vars.set('SWARM_TEST_CODEX_KEY', 'sk-test');
    try {
      await expect(spawn(codex('no-such-codex-cli'))).rejects.toMatchObject({ type: 'AgentMisconfigured', message: expect.stringContaining('no-such-codex-cli is not installed on this host') });
      await expect(spawn(codex('/nonexistent/bin/codex'))).rejects.toMatchObject({ type: 'AgentMisconfigured', message: expect.stringContaining('/nonexistent/bin/codex is not installed on this host') });
    } finally {
      vars.restore();
    }
    expect(await agents.sessionAlive({ taskId: 'no-cli' })).toEqual({ alive: false });
    await agents.cleanupTask({ taskId: 'no-cli', repository: repo, deleteBranch: true });
  });
});

describe('sendToSession', () => {
  it('types the message into the live session as one literal line', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'redirect', repository: repo, baseBranch: 'main' });
    const session = await agents.spawnAgent({ taskId: 'redirect', attempt: 1, worktree: ws.worktree, agent: shellAgent('IFS= read -r line; printf "%s\\n" "$line" > redirected.txt'), prompt: 'p' });
    const marker = join(dir, 'redirect-pwned');
    const message = `-n Stop. Focus on the API layer; $(touch ${marker}) \`touch ${marker}\` #(touch ${marker}) =other:0.1 {last}\nthen the UI.`;
    expect(await agents.sendToSession({ taskId: 'redirect', message })).toEqual({ delivered: true, channel: 'tmux' });
    expect(await agents.awaitAgentExit({ taskId: 'redirect', attempt: 1, worktree: ws.worktree, baseBranch: 'main' })).toMatchObject({ exitCode: 0 });
    expect(readFileSync(join(ws.worktree, 'redirected.txt'), 'utf8')).toBe(`${message.replace('\n', ' ')}\n`);
    expect(existsSync(marker)).toBe(false);
    expect(session.session).toBe('swarm-redirect');

    // No live session: nothing to deliver to.
    expect(await agents.sendToSession({ taskId: 'redirect', message: 'anyone there?' })).toEqual({ delivered: false });
    expect(await agents.sendToSession({ taskId: 'never-spawned', message: 'hello' })).toEqual({ delivered: false });
  });

  it('reaches only its own session, even when another session has a name it prefixes', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'pre', repository: repo, baseBranch: 'main' });
    const other = await agents.prepareWorkspace({ taskId: 'pre-longer', repository: repo, baseBranch: 'main' });
    const reader = shellAgent('IFS= read -r line; printf "%s\\n" "$line" > redirected.txt');
    await agents.spawnAgent({ taskId: 'pre-longer', attempt: 1, worktree: other.worktree, agent: reader, prompt: 'p' });
    // `swarm-pre` does not exist; a non-exact target would have matched `swarm-pre-longer`.
    expect(await agents.sendToSession({ taskId: 'pre', message: 'misdirected' })).toEqual({ delivered: false });
    expect(await agents.sessionAlive({ taskId: 'pre' })).toEqual({ alive: false });
    expect(await agents.sendToSession({ taskId: 'pre-longer', message: 'for you' })).toEqual({ delivered: true, channel: 'tmux' });
    await agents.awaitAgentExit({ taskId: 'pre-longer', attempt: 1, worktree: other.worktree, baseBranch: 'main' });
    expect(readFileSync(join(other.worktree, 'redirected.txt'), 'utf8')).toBe('for you\n');
    expect(ws.branch).toBe('swarm/pre');
  });
});

describe('cleanupTask', () => {
  it('removes the session, worktree, task files and (when asked) the branch, and is a no-op the second time', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'clean', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'clean', attempt: 1, worktree: ws.worktree, agent: scriptedAgent([{ files: { 'a.txt': 'a\n' }, commit: 'a' }]), prompt: 'p' });
    await agents.awaitAgentExit({ taskId: 'clean', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });

    // Kept branch first: the worktree goes, the branch (with the agent's commit) stays.
    expect(await agents.cleanupTask({ taskId: 'clean', repository: repo, deleteBranch: false })).toEqual({ session: false, worktree: true, branch: false, taskFiles: true, leftovers: 0, logsKept: 0 });
    expect(await revParse(repo, 'refs/heads/swarm/clean')).toBeDefined();

    await agents.prepareWorkspace({ taskId: 'clean', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'clean', attempt: 2, worktree: ws.worktree, agent: scriptedAgent([{ sleepMs: 60_000 }]), prompt: 'p' });
    // The killed attempt's log is kept at cleanup, beside the one kept at attempt 1's end.
    expect(await agents.cleanupTask({ taskId: 'clean', repository: repo, deleteBranch: true })).toEqual({ session: true, worktree: true, branch: true, taskFiles: true, leftovers: 0, logsKept: 1 });
    expect(readdirSync(join(stateDir, 'logs', 'clean', 'unkeyed')).sort()).toEqual(['attempt-1', 'attempt-2', 'run.json']);
    expect(await agents.sessionAlive({ taskId: 'clean' })).toEqual({ alive: false });
    expect(existsSync(ws.worktree)).toBe(false);
    expect(existsSync(agentPaths(stateDir).taskDir('clean'))).toBe(false);
    expect(await revParse(repo, 'refs/heads/swarm/clean')).toBeUndefined();
    expect((await git(repo, ['worktree', 'list', '--porcelain'])).stdout).not.toContain('swarm/clean');

    expect(await agents.cleanupTask({ taskId: 'clean', repository: repo, deleteBranch: true })).toEqual({ session: false, worktree: false, branch: false, taskFiles: false, leftovers: 0, logsKept: 0 });
  });

  it("finds no session to kill when the task's has ended while another task's runs on the same tmux server", async () => {
    const other = await agents.prepareWorkspace({ taskId: 'clean-other', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'clean-other', attempt: 1, worktree: other.worktree, agent: scriptedAgent([{ sleepMs: 60_000 }]), prompt: 'p' });
    const ws = await agents.prepareWorkspace({ taskId: 'clean-ended', repository: repo, baseBranch: 'main' });
    await agents.spawnAgent({ taskId: 'clean-ended', attempt: 1, worktree: ws.worktree, agent: scriptedAgent([{ files: { 'e.txt': 'e\n' }, commit: 'e' }]), prompt: 'p' });
    await agents.awaitAgentExit({ taskId: 'clean-ended', attempt: 1, worktree: ws.worktree, baseBranch: 'main' });
    await until('the ended session to close', async () => !(await agents.sessionAlive({ taskId: 'clean-ended' })).alive);

    // tmux 3.3 words a missing session, asked for as `-s -t =name` beside other sessions, "can't find window".
    expect(await agents.cleanupTask({ taskId: 'clean-ended', repository: repo, deleteBranch: true })).toEqual({ session: false, worktree: true, branch: true, taskFiles: true, leftovers: 0, logsKept: 0 });
    expect(await agents.sessionAlive({ taskId: 'clean-other' })).toEqual({ alive: true });
    expect(await agents.cleanupTask({ taskId: 'clean-other', repository: repo, deleteBranch: true })).toMatchObject({ session: true });
  });

  it('kills what the agent left running outside its session (a daemon in its own session) and its temp folder', async () => {
    const ws = await agents.prepareWorkspace({ taskId: 'daemon', repository: repo, baseBranch: 'main' });
    // setsid: the daemon leaves the pane's process group, as Codex's background app-server does.
    const pidFile = join(dir, 'daemon.pid');
    await agents.spawnAgent({ taskId: 'daemon', attempt: 1, worktree: ws.worktree, agent: shellAgent(`setsid sh -c 'echo $$ > ${pidFile}; touch "$TMPDIR/scratch"; exec sleep 600' < /dev/null > /dev/null 2>&1 & sleep 600`), prompt: 'p' });
    await until('the daemon started', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const daemon = Number(readFileSync(pidFile, 'utf8'));
    const home = agentPaths(stateDir).home('daemon');
    await until('the daemon wrote its temp file', () => existsSync(join(home, 'tmp', 'scratch')));

    const removed = await agents.cleanupTask({ taskId: 'daemon', repository: repo, deleteBranch: true });
    expect(removed).toMatchObject({ session: true, leftovers: 1 });
    await until('the daemon is gone', () => !isAlive(daemon));
    expect(existsSync(home)).toBe(false);
  });

  it('still removes our files when the repository is gone', async () => {
    const gone = await createTestRepo(join(dir, 'gone-repo'));
    const ws = await agents.prepareWorkspace({ taskId: 'gone', repository: gone, baseBranch: 'main' });
    rmSync(gone, { recursive: true, force: true });
    // The task folder holds the bootstrap record (port) since prepareWorkspace.
    expect(await agents.cleanupTask({ taskId: 'gone', repository: gone, deleteBranch: true })).toEqual({ session: false, worktree: true, branch: false, taskFiles: true, leftovers: 0, logsKept: 0 });
    expect(existsSync(ws.worktree)).toBe(false);
  });
});
