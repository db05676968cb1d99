// The branch of record and the agent's clone (activities/task-branch.ts) on real git: collecting
// commits and a CLI's uncommitted edits from a clone whose config and hooks are hostile, without
// writing into it or running anything of it.
import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { git, revParse } from '../../activities/git.ts';
import { collectTaskBranch, createTaskClone, writeOriginBundle, type Leftovers } from '../../activities/task-branch.ts';
import { createTestRepo } from '../harness/agents.ts';
import { tempDir } from '../harness/paths.ts';

const BRANCH = 'swarm/t';
const parents = async (repo: string, commit: string) => (await git(repo, ['rev-list', '--parents', '-n', '1', commit])).stdout.split(' ').slice(1);

/** The user's repository with the task branch, and the agent's clone of it made as prepareWorkspace makes it. */
async function workspace() {
  const root = tempDir('task-branch');
  const repo = await createTestRepo(join(root, 'repo'));
  await git(repo, ['branch', BRANCH, 'main']);
  const bundle = join(root, 't.bundle');
  await writeOriginBundle(repo, 'main', BRANCH, bundle);
  const clone = join(root, 'clone');
  await createTaskClone(bundle, BRANCH, clone);
  const leftovers: Leftovers = { author: { name: 'swarmflow codex', email: 'codex@swarmflow.invalid' }, message: 'codex: changes left uncommitted', indexFile: join(root, 'leftovers.index') };
  return { root, repo, clone, leftovers };
}

/** The agent's own git, in its clone (steering clear of its own plants). */
const agentGit = (clone: string, args: string[]) =>
  execa('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'filter.evil.clean=cat', '-c', 'filter.evil.smudge=cat', ...args], { cwd: clone, env: { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@x' } });

describe('collectTaskBranch', () => {
  it("commits a CLI's leftovers through our git dir, running nothing of the clone's and writing nothing into it", async () => {
    const { root, repo, clone, leftovers } = await workspace();
    expect(await revParse(clone, 'refs/remotes/origin/main')).toBe(await revParse(repo, 'main'));
    expect(readdirSync(join(clone, '.git'))).not.toContain('hooks');
    // The agent names a filter in .gitattributes, configures it and a hook, fsmonitor and a clean filter in its clone.
    const marks = join(root, 'marks');
    mkdirSync(marks);
    const program = join(root, 'planted');
    writeFileSync(program, `#!/bin/sh\necho ran > "${marks}/$$"\n`);
    chmodSync(program, 0o755);
    const planted: Array<[string, string]> = [['filter.evil.clean', program], ['filter.evil.smudge', program], ['core.fsmonitor', program], ['core.hooksPath', root]];
    for (const [key, value] of planted) await execa('git', ['config', key, value], { cwd: clone });
    writeFileSync(join(root, 'post-index-change'), `#!/bin/sh\necho ran > "${marks}/$$"\n`);
    chmodSync(join(root, 'post-index-change'), 0o755);
    writeFileSync(join(clone, '.gitattributes'), '* filter=evil\n');
    writeFileSync(join(clone, 'feature.txt'), 'one\n');
    const cloneHead = await revParse(repo, BRANCH);

    const first = await collectTaskBranch(repo, clone, BRANCH, leftovers);
    expect(await parents(repo, first!)).toEqual([cloneHead]);
    expect((await git(repo, ['show', `${first}:feature.txt`])).stdout).toBe('one');
    expect((await git(repo, ['log', '-1', '--format=%an|%s', first!])).stdout).toBe('swarmflow codex|codex: changes left uncommitted');
    expect(await revParse(repo, `refs/heads/${BRANCH}`)).toBe(first);
    expect(readdirSync(marks)).toEqual([]);
    // The clone is as the agent left it: its head unmoved, its edits uncommitted.
    expect(await revParse(clone, 'HEAD')).toBe(cloneHead);
    // A retry collects the same commit; further edits build on it, one line of history.
    expect(await collectTaskBranch(repo, clone, BRANCH, leftovers)).toBe(first);
    writeFileSync(join(clone, 'feature.txt'), 'two\n');
    const second = await collectTaskBranch(repo, clone, BRANCH, leftovers);
    expect(await parents(repo, second!)).toEqual([first]);
    expect((await git(repo, ['show', `${second}:feature.txt`])).stdout).toBe('two');

    // The agent commits its work itself: merged with what we collected, no conflict, nothing lost.
    await agentGit(clone, ['add', '-A']);
    await agentGit(clone, ['commit', '-q', '-m', 'agent commits']);
    const agentHead = (await agentGit(clone, ['rev-parse', 'HEAD'])).stdout.trim();
    const third = await collectTaskBranch(repo, clone, BRANCH, leftovers);
    expect(await parents(repo, third!)).toEqual([agentHead, second]);
    expect((await git(repo, ['show', `${third}:feature.txt`])).stdout).toBe('two');
    expect(readdirSync(marks)).toEqual([]);
  });
});
