// Running git: argv only (never a shell), no prompts, a fixed identity for the commits swarmflow
// itself makes (merges), and errors that carry what git said.
import { existsSync, statSync } from 'node:fs';
import { execa } from 'execa';

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode ?? 'none'}): ${stderr.trim().split('\n').slice(-5).join(' / ')}`);
    this.name = 'GitError';
  }
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitOptions {
  input?: string;
  /** Return a non-zero exit instead of throwing (for commands whose exit code is the answer). */
  allowFailure?: boolean;
  timeoutMs?: number;
}

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'swarmflow',
  GIT_AUTHOR_EMAIL: 'swarmflow@localhost',
  GIT_COMMITTER_NAME: 'swarmflow',
  GIT_COMMITTER_EMAIL: 'swarmflow@localhost',
};

export async function git(cwd: string, args: string[], { input, allowFailure = false, timeoutMs = 120_000 }: GitOptions = {}): Promise<GitResult> {
  const res = await execa('git', args, { cwd, input, reject: false, timeout: timeoutMs, env: GIT_ENV, stripFinalNewline: true });
  const exitCode = res.exitCode ?? -1;
  if (exitCode !== 0 && !allowFailure) throw new GitError(args, res.exitCode, `${res.stderr}${res.timedOut ? ' (timed out)' : ''}`);
  return { stdout: res.stdout, stderr: res.stderr, exitCode };
}

/** The SHA a ref points at, or undefined when the ref does not exist. */
export async function revParse(cwd: string, ref: string): Promise<string | undefined> {
  const res = await git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFailure: true });
  return res.exitCode === 0 ? res.stdout.trim() : undefined;
}

/** A git repository at exactly this path: its top level, or a bare repository. */
export async function isRepository(path: string): Promise<boolean> {
  if (!existsSync(path) || !statSync(path).isDirectory()) return false;
  const res = await git(path, ['rev-parse', '--is-bare-repository', '--is-inside-git-dir', '--show-prefix'], { allowFailure: true });
  const [bare, insideGitDir, prefix = ''] = res.stdout.split('\n');
  return res.exitCode === 0 && (bare === 'true' || (insideGitDir === 'false' && prefix === ''));
}

/** The worktree (main or linked) that has `branch` checked out, if its folder still exists. */
export async function worktreeWithBranch(repository: string, branch: string): Promise<string | undefined> {
  // -z: NUL-terminated fields, so no path can break the parse.
  const { stdout } = await git(repository, ['worktree', 'list', '--porcelain', '-z']);
  let current: string | undefined;
  for (const field of stdout.split('\0')) {
    if (field.startsWith('worktree ')) current = field.slice('worktree '.length);
    else if (field === `branch refs/heads/${branch}` && current && existsSync(current)) return current;
  }
  return undefined;
}

/** Paths git lists (tab-indented) when it refuses to touch a worktree: local changes or untracked files in the way. */
export function pathsInRefusal(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('\t'))
    .map((l) => l.trim());
}
