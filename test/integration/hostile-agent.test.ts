// A hostile agent against the real host activities and the local forge (real git, tmux, Postgres).
// It plants every program git can be configured to run (hooks, core.hooksPath, core.fsmonitor,
// core.sshCommand, pagers, diff.external, credential and askpass helpers, gpg, editors, filter,
// merge and diff drivers named by a committed .gitattributes, upload-pack and alternate-refs
// commands) in its own repository, and in every repository it can find through git or by guessing
// paths. The worker holds canary secrets. Then the orchestrator does a whole task's git work:
// collect, push, sync with a moved base, mergeability, diff, CI, merge, cleanup; and the user runs
// git in their repository. No planted program may run, the user's hooks and config stay as they
// were, and the task still merges.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { createAgentActivities, type AgentActivities } from '../../activities/agents/index.ts';
import { ConfigSchema } from '../../lib/config.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { createTmux } from '../../activities/agents/tmux.ts';
import { createForge } from '../../activities/forge/index.ts';
import { createLocalForge, type LocalForge } from '../../activities/forge/local-forge.ts';
import { git, revParse } from '../../activities/git.ts';
import type { AgentCommand } from '../../workflows/task/types.ts';
import { createTestRepo } from '../harness/agents.ts';
import { tempDir } from '../harness/paths.ts';
import { freshDatabase, type TestDatabase } from '../harness/postgres.ts';

const CANARIES = {
  GITHUB_TOKEN: 'canary-github-token-7f3a',
  OPENAI_API_KEY: 'canary-openai-key-7f3a',
  ANTHROPIC_API_KEY: 'canary-anthropic-key-7f3a',
  GITHUB_WEBHOOK_SECRET: 'canary-webhook-secret-7f3a',
};

const HOOKS = [
  'pre-commit', 'prepare-commit-msg', 'commit-msg', 'post-commit', 'pre-merge-commit', 'post-merge', 'pre-rebase', 'post-rewrite',
  'post-checkout', 'reference-transaction', 'pre-push', 'pre-receive', 'update', 'proc-receive', 'post-receive', 'post-update',
  'push-to-checkout', 'pre-auto-gc', 'fsmonitor-watchman', 'sendemail-validate', 'post-index-change',
];

/**
 * The agent: commits its work like any agent, then plants. Each planted program records that it ran
 * (and its whole environment) as a file under `marks`.
 */
function hostileScript(marks: string): string {
  return `#!/usr/bin/env bash
set -u
M=${JSON.stringify(marks)}
mkdir -p .evil
evil() { printf '#!/bin/sh\\n{ echo "%s $*"; env; } > "%s/%s.$$"\\nexit 0\\n' "$1" "$M" "$1" > "$2"; chmod +x "$2"; }
# Its work first, committed without running anything of its own.
echo 'export const sum = (a, b) => a + b;' > sum.js
printf '* filter=evil merge=evil diff=evil\\n' > .gitattributes
git add -A && git commit -q -m 'add sum'
P="$PWD/.evil"
for name in fsmonitor ssh pager diff-external credential askpass gpg editor sequence-editor filter-clean filter-smudge merge-driver diff-command textconv pack-objects-hook alternate-refs; do evil "$name" "$P/$name"; done
mkdir -p "$P/hooks"; for h in ${HOOKS.join(' ')}; do evil "hookspath-$h" "$P/hooks/$h"; done
plant_config() { # $1: a config file
  git config -f "$1" core.fsmonitor "$P/fsmonitor"
  git config -f "$1" core.hooksPath "$P/hooks"
  git config -f "$1" core.sshCommand "$P/ssh"
  git config -f "$1" core.pager "$P/pager"
  git config -f "$1" pager.log "$P/pager"
  git config -f "$1" core.askPass "$P/askpass"
  git config -f "$1" core.editor "$P/editor"
  git config -f "$1" sequence.editor "$P/sequence-editor"
  git config -f "$1" diff.external "$P/diff-external"
  git config -f "$1" credential.helper "$P/credential"
  git config -f "$1" gpg.program "$P/gpg"
  git config -f "$1" commit.gpgSign true
  git config -f "$1" filter.evil.clean "$P/filter-clean"
  git config -f "$1" filter.evil.smudge "$P/filter-smudge"
  git config -f "$1" merge.evil.driver "$P/merge-driver %O %A %B"
  git config -f "$1" diff.evil.command "$P/diff-command"
  git config -f "$1" diff.evil.textconv "$P/textconv"
  git config -f "$1" uploadpack.packObjectsHook "$P/pack-objects-hook"
  git config -f "$1" core.alternateRefsCommand "$P/alternate-refs"
}
plant_dir() { # $1: a git directory
  [ -f "$1/config" ] && [ -f "$1/HEAD" ] || return 0
  plant_config "$1/config"
  mkdir -p "$1/hooks" "$1/info"; for h in ${HOOKS.join(' ')}; do evil "hook-$h" "$1/hooks/$h"; done
  printf '* filter=evil merge=evil diff=evil\\n' >> "$1/info/attributes"
}
# Every git directory git shows it (its own, a worktree's common one), what origin points at, and guesses.
gitfile=$( [ -f .git ] && sed -n 's/^gitdir: //p' .git )
origin=$(git remote get-url origin 2>/dev/null || true)
for d in "$(git rev-parse --git-dir)" "$(git rev-parse --git-common-dir)" "$gitfile" "$gitfile/../.." "$origin" "$origin/.git" "$(dirname "$origin")" \\
         .. ../.. ../../.. ../.git ../../.git ../../../.git; do
  [ -n "$d" ] && [ -d "$d" ] && plant_dir "$d"
done
# And with git's own hands: --local means the common config, the user's, in a linked worktree.
git config --local core.fsmonitor "$P/fsmonitor"
git config --local core.hooksPath "$P/hooks"
echo 'left uncommitted' > notes.txt
exit 0
`;
}

let database: TestDatabase;
let dir: string;
let stateDir: string;
let agents: AgentActivities;
let local: LocalForge;
let forge: ReturnType<typeof createForge>;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  // The worker's own environment holds the secrets a planted program would be after.
  for (const [name, value] of Object.entries(CANARIES)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  database = await freshDatabase();
  dir = tempDir('hostile');
  stateDir = join(dir, 'state');
  // Unsandboxed: the git hardening is what is tested, against an agent that can reach everything
  // its user can (test/integration/sandbox.test.ts shows what a sandboxed one cannot reach).
  agents = createAgentActivities({ stateDir, db: database.db, limits: { ...ConfigSchema.shape.host.parse(undefined), sandbox: 'off' } });
  local = createLocalForge({ db: database.db, stateDir });
  forge = createForge({ local });
});

afterAll(async () => {
  await createTmux(agentPaths(stateDir).socket).run(['kill-server']);
  await database.drop();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** What a user's own git sees of its repository's programs: hooks (names and contents), config, info/. */
function gitDirSnapshot(repo: string): string {
  const gitDir = join(repo, '.git');
  const hooks = readdirSync(join(gitDir, 'hooks')).sort().map((h) => `${h}:${readFileSync(join(gitDir, 'hooks', h), 'utf8')}`);
  const info = existsSync(join(gitDir, 'info')) ? readdirSync(join(gitDir, 'info')).sort().map((f) => `${f}:${readFileSync(join(gitDir, 'info', f), 'utf8')}`) : [];
  return JSON.stringify({ config: readFileSync(join(gitDir, 'config'), 'utf8'), hooks, info });
}

/** The user at their terminal: plain git with their whole environment (the canaries among it). */
const userGit = (repo: string, args: string[]) => execa('git', args, { cwd: repo, env: { GIT_AUTHOR_NAME: 'user', GIT_AUTHOR_EMAIL: 'user@localhost', GIT_COMMITTER_NAME: 'user', GIT_COMMITTER_EMAIL: 'user@localhost' } });

describe('a hostile agent', () => {
  it("plants programs for every git knob, yet none runs in the worker or in the user's repository, and the task merges", async () => {
    const marks = join(dir, 'marks');
    mkdirSync(marks);
    const repo = await createTestRepo(join(tempDir('hostile-user'), 'repo'));
    const before = gitDirSnapshot(repo);
    const script = join(dir, 'hostile.sh');
    writeFileSync(script, hostileScript(marks));
    const agent: AgentCommand = { name: 'hostile', command: ['bash', script], passEnv: [] };
    const taskId = 'hostile';
    const branch = `swarm/${taskId}`;
    const ran = () => readdirSync(marks).sort();
    /** One of the orchestrator's steps, then which planted programs had run by its end, failed or not (none may). */
    const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } finally {
        expect({ step: name, ran: ran() }).toEqual({ step: name, ran: [] });
      }
    };

    const ws = await agents.prepareWorkspace({ taskId, repository: repo, baseBranch: 'main' });
    // The base moves after the fork, so the sync makes a real merge.
    writeFileSync(join(repo, 'base.txt'), 'base\n');
    await userGit(repo, ['add', 'base.txt']);
    await userGit(repo, ['commit', '-q', '-m', 'base moves']);
    await agents.spawnAgent({ taskId, attempt: 1, worktree: ws.worktree, agent, prompt: 'add sum' });
    const exit = await step('awaitAgentExit', () => agents.awaitAgentExit({ taskId, attempt: 1, worktree: ws.worktree, baseBranch: 'main' }));
    expect(exit).toMatchObject({ exitCode: 0, commits: 1 });

    await step('pushBranch', () => forge.pushBranch({ repository: repo, worktree: ws.worktree, branch }));
    const pr = await step('ensurePr', () => local.ensurePr({ taskId, repository: repo, base: 'main', branch, title: 'Add sum', body: '' }));
    const sync = await step('syncWithBase', () => local.syncWithBase({ repository: repo, number: pr.number, worktree: ws.worktree }));
    expect(sync.status).toBe('synced');
    expect(await step('checkMergeable', () => local.checkMergeable({ repository: repo, number: pr.number }))).toMatchObject({ mergeable: true });
    expect((await step('changedFiles', () => local.changedFiles({ repository: repo, number: pr.number }))).files.map((f) => f.path).sort()).toEqual(['.gitattributes', 'sum.js']);
    expect((await step('diff', () => local.diff({ repository: repo, number: pr.number }))).diff).toContain('a + b');
    const verdict = await step('runCi', () => local.runCi({ taskId, repository: repo, number: pr.number, headSha: sync.headSha, checks: [{ name: 'git-status', command: 'git status --short && git log -1 --format=%s', timeoutMs: 30_000 }] }));
    expect(verdict.status).toBe('passed');
    const merged = await step('mergePr', () => local.mergePr({ repository: repo, number: pr.number, expectedHeadSha: sync.headSha }));
    expect(merged.alreadyMerged).toBe(false);

    // The plants are live: git run in the agent's clone the ordinary way (here without the canaries) fires them.
    await execa('git', ['status'], { cwd: ws.worktree, env: { PATH: process.env.PATH! }, extendEnv: false });
    const probe = ran();
    expect(probe.some((m) => m.startsWith('fsmonitor'))).toBe(true);

    await agents.cleanupTask({ taskId, repository: repo, deleteBranch: true });
    expect(ran()).toEqual(probe);
    // The user's next commands in their repository.
    for (const args of [['status'], ['log', '-p', '-2'], ['diff', 'HEAD~1'], ['checkout', '-q', '-b', 'after'], ['checkout', '-q', 'main']]) await userGit(repo, args);

    // Nor for the user (whose env holds the canaries): only the probe's marks, none with a canary.
    expect(ran()).toEqual(probe);
    const leaked = ran().filter((m) => Object.values(CANARIES).some((c) => readFileSync(join(marks, m), 'utf8').includes(c)));
    expect(leaked).toEqual([]);
    expect(gitDirSnapshot(repo)).toBe(before);
    // And the task merged correctly: the agent's work and the moved base, on main, in the user's files.
    expect(await revParse(repo, 'refs/heads/main')).toBe(merged.mergeSha);
    expect(readFileSync(join(repo, 'sum.js'), 'utf8')).toContain('a + b');
    expect(readFileSync(join(repo, 'base.txt'), 'utf8')).toBe('base\n');
    expect((await git(repo, ['status', '--porcelain'])).stdout).toBe('');
  });
});
