// What the reaper finds on a host: every task id with a clone or workspace file, a task folder, or
// a `swarm/<id>` branch in a recorded repository or one of our mirrors; names that are not a
// task's are not. Real git, a state folder made by hand, no tmux server running.
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listTaskLeftovers } from '../../activities/agents/leftovers.ts';
import { agentPaths } from '../../activities/agents/paths.ts';
import { createTmux } from '../../activities/agents/tmux.ts';
import { tempDir } from '../harness/paths.ts';
import { git, sampleRepo } from '../harness/task-testbed.ts';

describe('listTaskLeftovers', () => {
  it('names each task id once with what it has, from files, folders and branches of record', async () => {
    const stateDir = tempDir('leftovers');
    const paths = agentPaths(stateDir);
    const repo = sampleRepo({ scenario: [{}] });
    for (const branch of ['swarm/recorded', 'swarm/branch-only', 'swarm/Not_A_Slug', 'swarm/nested/name', 'feature']) git(repo, 'branch', branch);
    const mirror = join(paths.mirrors, 'octo', 'calc.git');
    git(repo, 'clone', '--quiet', '--bare', repo, mirror);
    git(mirror, 'branch', 'swarm/on-github');

    mkdirSync(paths.worktree('cloned'), { recursive: true });
    writeFileSync(paths.workspaceRecord('recorded'), JSON.stringify({ checkout: repo, branch: 'swarm/recorded', baseBranch: 'main' }));
    writeFileSync(`${paths.originBundle('half-bundled')}.partial`, '');
    writeFileSync(join(paths.worktrees, 'not a task.json'), '{}');
    mkdirSync(paths.taskDir('files-only'), { recursive: true });

    const found = await listTaskLeftovers(paths, createTmux(paths.socket));
    const none = { worktree: false, session: false, taskFiles: false, repositories: [] };
    expect(found).toEqual([
      { ...none, taskId: 'branch-only', repositories: [repo, mirror] },
      { ...none, taskId: 'cloned', worktree: true },
      { ...none, taskId: 'files-only', taskFiles: true },
      { ...none, taskId: 'half-bundled', worktree: true },
      { ...none, taskId: 'on-github', repositories: [mirror] },
      { ...none, taskId: 'recorded', worktree: true, repositories: [repo, mirror] },
    ]);
  });
});
