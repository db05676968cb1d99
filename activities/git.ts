// The one way swarmflow runs git: argv only (never a shell), no prompts, a fixed identity for the
// commits swarmflow itself makes (merges), errors that carry what git said, and hardened so that
// git runs no program a repository or an agent could configure, with no secret in its environment.
//
// - The environment is built from nothing (the spawner gives the command exactly `gitEnv`): PATH, a private empty HOME, the C
//   locale (its messages are parsed), and switches that keep git from reading the system and
//   global config or attributes and from prompting. The worker's tokens never reach git or anything
//   git starts; a caller that must authenticate passes its header in `env` (GIT_CONFIG_* entries).
// - `-c` overrides on every call (command-line config beats every file) switch off what runs
//   programs from config: hooks, fsmonitor, askpass, credential helpers, pagers, gpg, transports
//   other than file and http(s) (so no ssh command, proxy command or `ext::`), auto-gc/maintenance
//   and submodule recursion.
// - What `-c` cannot switch off, attribute-named filter, merge and diff drivers (any name can be
//   configured), is covered by where git runs: only in repositories whose config an agent cannot
//   write (the user's repository, our mirror), never in an agent's task clone (see workspace.ts).
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../lib/spawner/run.ts';

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
  /** Added to the minimal environment for this call only (an auth header as GIT_CONFIG_*, an index file). */
  env?: Record<string, string>;
}

/** Config that would make git run a program, pinned off for every call. */
export const SAFE_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['core.askPass', ''],
  ['core.pager', 'cat'],
  ['credential.helper', ''],
  ['protocol.allow', 'never'],
  ['protocol.file.allow', 'always'],
  ['protocol.http.allow', 'always'],
  ['protocol.https.allow', 'always'],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['push.gpgSign', 'false'],
  ['log.showSignature', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
  ['submodule.recurse', 'false'],
  ['fetch.recurseSubmodules', 'false'],
  ['push.recurseSubmodules', 'no'],
];
const SAFE_ARGS = ['--no-pager', ...SAFE_CONFIG.flatMap(([key, value]) => ['-c', `${key}=${value}`])];

let home: string | undefined;
/** An empty folder of this process's as git's HOME: no ~/.gitconfig, ~/.git-credentials or the like of anyone's. */
const gitHome = () => (home ??= mkdtempSync(join(tmpdir(), 'swarmflow-git-home-')));

/** The whole environment of a git call: nothing of the worker's beyond PATH. */
export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: gitHome(),
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    // Beats core.askPass and SSH_ASKPASS: a credential prompt gets an empty answer and fails.
    GIT_ASKPASS: 'true',
    GIT_PAGER: 'cat',
    GIT_EDITOR: 'true',
    GIT_SEQUENCE_EDITOR: 'true',
    GIT_AUTHOR_NAME: 'swarmflow',
    GIT_AUTHOR_EMAIL: 'swarmflow@localhost',
    GIT_COMMITTER_NAME: 'swarmflow',
    GIT_COMMITTER_EMAIL: 'swarmflow@localhost',
    ...extra,
  };
}

export async function git(cwd: string, args: string[], { input, allowFailure = false, timeoutMs = 120_000, env }: GitOptions = {}): Promise<GitResult> {
  // Through the spawner: a fork of the worker itself would hold its event loop (see lib/spawner).
  const res = await runCommand({ file: 'git', args: [...SAFE_ARGS, ...args], cwd, input, timeoutMs, env: gitEnv(env) });
  const exitCode = res.exitCode ?? -1;
  if (exitCode !== 0 && !allowFailure) throw new GitError(args, res.exitCode ?? undefined, `${res.stderr}${res.timedOut ? ' (timed out)' : ''}`);
  return { stdout: res.stdout, stderr: res.stderr, exitCode };
}

/** The SHA a ref points at, or undefined when the ref does not exist. */
export async function revParse(cwd: string, ref: string): Promise<string | undefined> {
  const res = await git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFailure: true });
  return res.exitCode === 0 ? res.stdout.trim() : undefined;
}

/** `git merge-base --is-ancestor`, whose exit code is the answer. */
export async function isAncestor(cwd: string, ancestor: string, descendant: string): Promise<boolean> {
  const args = ['merge-base', '--is-ancestor', ancestor, descendant];
  const res = await git(cwd, args, { allowFailure: true });
  if (res.exitCode > 1) throw new GitError(args, res.exitCode, res.stderr);
  return res.exitCode === 0;
}

/** A file's text at a commit (without its final newline, like all output here), or undefined where the commit has no such file. */
export async function fileAt(cwd: string, commit: string, path: string): Promise<string | undefined> {
  const res = await git(cwd, ['cat-file', 'blob', `${commit}:${path}`], { allowFailure: true });
  return res.exitCode === 0 ? res.stdout : undefined;
}

/** The best common ancestor of two commits, or undefined when they share no history. */
export async function mergeBaseOf(cwd: string, a: string, b: string): Promise<string | undefined> {
  const args = ['merge-base', a, b];
  const res = await git(cwd, args, { allowFailure: true });
  if (res.exitCode === 1) return undefined;
  if (res.exitCode !== 0) throw new GitError(args, res.exitCode, res.stderr);
  return res.stdout.trim();
}

/** A real merge of head into base, written as a tree only (no worktree, no index): its tree and conflicted paths. */
export async function mergeTree(repository: string, baseSha: string, headSha: string): Promise<{ tree: string; conflicts: string[] }> {
  const args = ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', baseSha, headSha];
  const res = await git(repository, args, { allowFailure: true });
  if (res.exitCode !== 0 && res.exitCode !== 1) throw new GitError(args, res.exitCode, res.stderr);
  const [tree = '', ...paths] = res.stdout.split('\0').filter(Boolean);
  return { tree, conflicts: [...new Set(paths)] };
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
