// Test-side git against the stand-in: clones and pushes over its smart HTTP with the token in an
// extra header passed through the environment (as the forge does), never in a URL.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { git, revParse } from '../../../activities/git.ts';
import { tempDir } from '../paths.ts';
import type { GitHubStandin } from './standin.ts';

export function gitAuthEnv(token: string): Record<string, string> {
  return {
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
  };
}

/** A clone of `owner/name` from the stand-in, with `origin` pointing at it. */
export async function cloneFrom(standin: GitHubStandin, repository: string, token = 'standin-token'): Promise<string> {
  const dir = join(tempDir('gh-clone'), repository.replace('/', '-'));
  const res = await execa('git', ['clone', '-q', `${standin.url}/${repository}.git`, dir], { env: gitAuthEnv(token), reject: false });
  if (res.exitCode !== 0) throw new Error(`clone failed: ${res.stderr}`);
  await git(dir, ['config', 'user.name', 'test']);
  await git(dir, ['config', 'user.email', 'test@localhost']);
  return dir;
}

/** Checks out `branch` (creating it from what is checked out when new), writes files (null deletes), commits. */
export async function commitOn(dir: string, branch: string, files: Record<string, string | null>, message = 'change'): Promise<string> {
  const exists = await revParse(dir, `refs/heads/${branch}`);
  await git(dir, exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch]);
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    if (content === null) rmSync(file);
    else {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
  }
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', message]);
  return (await revParse(dir, 'HEAD'))!;
}

export async function push(dir: string, branch: string, token = 'standin-token', force = false): Promise<void> {
  const res = await execa('git', ['push', '-q', ...(force ? ['--force'] : []), 'origin', `refs/heads/${branch}:refs/heads/${branch}`], { cwd: dir, env: gitAuthEnv(token), reject: false });
  if (res.exitCode !== 0) throw new Error(`push failed: ${res.stderr}`);
}

export async function pull(dir: string, branch: string, token = 'standin-token'): Promise<void> {
  await git(dir, ['checkout', '-q', branch]);
  const res = await execa('git', ['pull', '-q', '--ff-only', 'origin', branch], { cwd: dir, env: gitAuthEnv(token), reject: false });
  if (res.exitCode !== 0) throw new Error(`pull failed: ${res.stderr}`);
}
