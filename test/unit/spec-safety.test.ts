// Spec values never reach a shell, a path, a branch name or a tmux target unchecked: hostile ids,
// paths, branches and tmux targets are refused with the field named; hostile free text reaches the
// agent through its prompt file, verbatim and inert. Real git, tmux and Postgres for the latter.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgentActivities, type AgentActivities } from '../../activities/agents/index.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { createTmux } from '../../activities/agents/tmux.ts';
import { git } from '../../activities/git.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';
import { InvalidTaskSpecError, parseTaskSpec, type TaskSpec, type TaskSpecInput } from '../../workflows/task/spec.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';
import { tempDir } from '../harness/paths.ts';

const VALID: TaskSpecInput = {
  id: 'fix-login-redirect',
  repository: '/srv/repos/app',
  baseBranch: 'main',
  title: 'Fix the login redirect',
  description: 'After login the user lands on /home instead of the page they asked for.',
  acceptanceCriteria: ['the user lands on the page they asked for'],
  shape: 'bug',
};

const SHELL = ['$(touch /tmp/pwned)', '`touch /tmp/pwned`', 'x; rm -rf /', 'a && b', 'a | b', "it's", 'a\nb'];
const TRAVERSAL = ['../../etc', '..', 'a/../../etc'];
const OPTION_LIKE = ['--upload-pack=touch /tmp/x', '-rf', '--end-of-options'];
const TMUX_TARGETS = ['a:0.1', '=other', '{last}', 'swarm-a:', '%1', '#(touch x)'];
const HOSTILE = [...SHELL, ...TRAVERSAL, ...OPTION_LIKE, ...TMUX_TARGETS];

/** The problems parseTaskSpec reports ("field: message"), or [] when it accepts the spec. */
function problems(spec: unknown): string[] {
  try {
    parseTaskSpec(spec);
    return [];
  } catch (err) {
    if (err instanceof InvalidTaskSpecError) return err.problems;
    throw err;
  }
}

/** Refused, and every problem reported is about `field`. */
function expectRefusedAt(field: string, spec: unknown): void {
  const found = problems(spec);
  expect(found.length).toBeGreaterThan(0);
  for (const problem of found) expect(problem.startsWith(`${field}: `)).toBe(true);
}

describe('parseTaskSpec refuses hostile values, naming the field', () => {
  it('accepts the valid spec these cases start from', () => {
    expect(problems(VALID)).toEqual([]);
  });

  describe.each(['id', 'baseBranch', 'agent'])('%s (a slug or a branch name)', (field) => {
    it.each(HOSTILE)('refuses %j', (value) => {
      expectRefusedAt(field, { ...VALID, [field]: value });
    });
  });

  it.each([...HOSTILE, '/srv/../../etc', '/srv/repos/-rf', '/srv/--upload-pack=touch /tmp/x', '/srv/a\nb', 'relative/path/deeper', '-owner/name', 'owner/..', 'owner name/x'])('repository refuses %j', (value) => {
    expectRefusedAt('repository', { ...VALID, repository: value });
  });

  it.each(['/srv/repos/app', 'octo-org/app', 'octocat/hello.world'])('repository accepts a local path or a GitHub owner/name: %j', (value) => {
    expect(problems({ ...VALID, repository: value })).toEqual([]);
  });

  it.each([...TRAVERSAL, ...OPTION_LIKE, '/etc/passwd', 'a\nb'])('hints.files refuses %j', (value) => {
    expectRefusedAt('hints.files.1', { ...VALID, hints: { files: ['src/ok.ts', value] } });
  });

  // Values the system cannot carry: a NUL kept a task in intake forever; an escape sequence would
  // paint the operator's terminal when `swarm task status` prints the text.
  const CONTROL = ['a\u0000b', '\u0000', 'red \u001b[31m', 'bell \u0007', 'del \u007f'];
  it.each(CONTROL)('free text refuses control characters: %j', (value) => {
    expectRefusedAt('description', { ...VALID, description: value });
    expectRefusedAt('acceptanceCriteria.0', { ...VALID, acceptanceCriteria: [value] });
    expectRefusedAt('title', { ...VALID, title: value });
    expectRefusedAt('hints.interfaces.0', { ...VALID, hints: { interfaces: [value] } });
  });

  it('free text keeps tabs and line breaks', () => {
    expect(problems({ ...VALID, description: 'line one\n\tindented\r\nline three', acceptanceCriteria: ['a\nb'] })).toEqual([]);
  });

  it.each(['-rf', '.hidden', '_x', 'a b', 'a/b', ''])('host refuses %j', (host) => {
    expectRefusedAt('host', { ...VALID, host });
  });

  it.each(['0s', '0ms', '999ms'])('limits.monitorInterval refuses a busy loop: %j', (monitorInterval) => {
    expectRefusedAt('limits.monitorInterval', { ...VALID, limits: { monitorInterval } });
  });

  it.each(['1s', '10m', '1d'])('limits.monitorInterval accepts %j', (monitorInterval) => {
    expect(problems({ ...VALID, limits: { monitorInterval } })).toEqual([]);
  });

  it.each([{ maxTokens: 0 }, { maxTokens: 1.5 }, { maxUsd: -1 }, { maxUsd: '5' }])('limits refuses a budget that is not a positive amount: %j', (budget) => {
    expectRefusedAt(`limits.${Object.keys(budget)[0]!}`, { ...VALID, limits: budget });
  });

  it('limits accepts a token and a dollar budget, and has none by default', () => {
    expect(parseTaskSpec({ ...VALID, limits: { maxTokens: 100_000, maxUsd: 2.5 } }).limits).toMatchObject({ maxTokens: 100_000, maxUsd: 2.5 });
    expect(parseTaskSpec(VALID).limits).not.toHaveProperty('maxTokens');
  });

  it.each([{ repeats: 1 }, { repeats: 2.5 }, { idleMinutes: 0 }, { idleMinutes: 2_000 }])('limits.stuck refuses a limit no stuck agent could meet sensibly: %j', (stuck) => {
    expectRefusedAt(`limits.stuck.${Object.keys(stuck)[0]!}`, { ...VALID, limits: { stuck } });
  });

  it('limits.stuck takes either limit alone; without it the defaults hold', () => {
    expect(parseTaskSpec({ ...VALID, limits: { stuck: { repeats: 3 } } }).limits.stuck).toEqual({ repeats: 3 });
    expect(parseTaskSpec(VALID).limits).not.toHaveProperty('stuck');
  });

  it('names every bad field at once', () => {
    const all = problems({ ...VALID, id: '=other', repository: '../../etc', baseBranch: '--upload-pack=x', agent: 'a:0.1', hints: { files: ['-rf'] } });
    expect([...new Set(all.map((p) => p.split(':')[0]))].sort()).toEqual(['agent', 'baseBranch', 'hints.files.0', 'id', 'repository']);
  });
});

describe('host activities refuse the same values before touching git or tmux', () => {
  let agents: AgentActivities;
  let database: TestDatabase;
  let stateDir: string;
  beforeAll(async () => {
    database = await freshDatabase();
    stateDir = join(tempDir('spec-safety'), 'state');
    agents = createAgentActivities({ stateDir, db: database.db });
  });
  afterAll(async () => {
    await createTmux(agentPaths(stateDir).socket).run(['kill-server']);
    await database.drop();
  });

  const invalid = (field: string) => ({ type: 'InvalidInput', nonRetryable: true, message: expect.stringContaining(`${field}: `) });

  it.each(HOSTILE)('taskId %j', async (taskId) => {
    await expect(agents.sessionAlive({ taskId })).rejects.toMatchObject(invalid('taskId'));
    await expect(agents.sendToSession({ taskId, message: 'hello' })).rejects.toMatchObject(invalid('taskId'));
    await expect(agents.cleanupTask({ taskId, repository: '/srv/repos/app', deleteBranch: true })).rejects.toMatchObject(invalid('taskId'));
    await expect(agents.prepareWorkspace({ taskId, repository: '/srv/repos/app', baseBranch: 'main' })).rejects.toMatchObject(invalid('taskId'));
  });

  it.each([...OPTION_LIKE, ...TMUX_TARGETS, ...SHELL])('baseBranch %j', async (baseBranch) => {
    await expect(agents.prepareWorkspace({ taskId: 'ok', repository: '/srv/repos/app', baseBranch })).rejects.toMatchObject(invalid('baseBranch'));
    await expect(agents.awaitAgentExit({ taskId: 'ok', attempt: 1, worktree: '/srv/w', baseBranch })).rejects.toMatchObject(invalid('baseBranch'));
  });

  it('an agent program that env would read as a variable', async () => {
    const agent = { name: 'x', command: ['PATH=/tmp/evil', 'sh'], passEnv: [] };
    await expect(agents.spawnAgent({ taskId: 'ok', attempt: 1, worktree: '/srv/w', agent, prompt: 'p' })).rejects.toMatchObject(invalid('agent.command'));
  });

  it('nothing of it reached the state folder', () => {
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
  });
});

describe('hostile free text is inert: it reaches the agent through the prompt file, verbatim', () => {
  let database: TestDatabase;
  let dir: string;
  let stateDir: string;
  beforeAll(async () => {
    database = await freshDatabase();
    dir = tempDir('free-text');
    stateDir = join(dir, 'state');
  });
  afterAll(async () => {
    await createTmux(agentPaths(stateDir).socket).run(['kill-server']);
    await database.drop();
  });

  it('title, description and acceptance criteria with shell and tmux syntax', async () => {
    const marker = join(dir, 'pwned');
    const payloads = [
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `'; touch ${marker}; echo '`,
      `"; touch ${marker}; echo "`,
      `; rm -rf ${dir}/repo`,
      `#(touch ${marker}) #{pane_pid} =other:0.1 {last}`,
      `\\'\\"$HOME \${PATH} %s %n`,
    ];
    // The repository path itself may hold shell syntax: it is argv and cwd, never shell text.
    const repo = join(dir, 'repo $(touch pwned) ;x');
    mkdirSync(repo);
    await git(repo, ['init', '--quiet', '--initial-branch=main']);
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '--quiet', '-m', 'initial commit']);

    const spec: TaskSpec = parseTaskSpec({
      ...VALID,
      id: 'free-text',
      repository: repo,
      title: `Fix it ${payloads[0]}`,
      description: payloads.join('\n'),
      acceptanceCriteria: payloads.slice(1),
    });
    // A stand-in for prompt synthesis: the spec's free text, as is.
    const prompt = `# ${spec.title}\n\n${spec.description}\n\n## Acceptance criteria\n${spec.acceptanceCriteria.map((c) => `- ${c}`).join('\n')}\n`;

    const agents = createAgentActivities({ stateDir, db: database.db });
    const ws = await agents.prepareWorkspace({ taskId: spec.id, repository: spec.repository, baseBranch: spec.baseBranch });
    // In the clone: the agent's sandbox shows it nothing of the test's own folder.
    const scenario = join(ws.worktree, '.scenario.json');
    writeFileSync(scenario, JSON.stringify({ steps: [{ print: ['read the prompt'] }] }));
    const agent = { name: 'scripted', command: ['node', join(PROJECT_ROOT, 'activities/agents/scripted-agent.mjs'), scenario], passEnv: [] };
    const session = await agents.spawnAgent({ taskId: spec.id, attempt: 1, worktree: ws.worktree, agent, prompt });
    const exit = await agents.awaitAgentExit({ taskId: spec.id, attempt: 1, worktree: ws.worktree, baseBranch: spec.baseBranch });

    expect(exit.exitCode).toBe(0);
    expect(readFileSync(session.promptFile, 'utf8')).toBe(prompt);
    // What the agent read back from SWARM_PROMPT_FILE is the same text.
    expect(readFileSync(session.logFile, 'utf8')).toContain(`--- prompt (attempt 1) ---\n${prompt}\n--- end of prompt ---`);
    // Free text is in no command line: the wrapper script never contains it.
    expect(readFileSync(join(session.promptFile, '..', 'run.sh'), 'utf8')).not.toContain('touch');

    // And the same text typed into a live session as a redirect stays text.
    await agents.spawnAgent({ taskId: spec.id, attempt: 2, worktree: ws.worktree, agent: { name: 'sh', command: ['sh', '-c', 'IFS= read -r line; printf "%s\\n" "$line" > redirected.txt'], passEnv: [] }, prompt });
    expect(await agents.sendToSession({ taskId: spec.id, message: payloads.slice(0, 6).join(' ') })).toEqual({ delivered: true, channel: 'tmux' });
    await agents.awaitAgentExit({ taskId: spec.id, attempt: 2, worktree: ws.worktree, baseBranch: spec.baseBranch });
    expect(readFileSync(join(ws.worktree, 'redirected.txt'), 'utf8')).toBe(`${payloads.slice(0, 6).join(' ')}\n`);

    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(ws.worktree, 'pwned'))).toBe(false);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
    expect(existsSync(join(repo, 'README.md'))).toBe(true);
    expect(await agents.cleanupTask({ taskId: spec.id, repository: spec.repository, deleteBranch: true })).toMatchObject({ worktree: true, branch: true });
  });
});
