// Worktree bootstrap (the repository's `bootstrap` policy): copy the env files git does not carry,
// run the install command, and allocate a port for the task, so that parallel agents neither start
// from a tree that cannot build nor collide on a dev server port. Done once per task: the result
// is recorded in the task's folder and a re-run returns it.
import { copyFileSync, existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { BootstrapResult, WorkspaceBootstrap } from '../../workflows/task/types.ts';
import { freePort } from '../../lib/ports.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import { runCheck } from '../forge/ci-runner.ts';
import { readRegularFile, writeFileAtomic } from './files.ts';
import { withSandbox, type SandboxSettings } from './sandboxed.ts';

export interface BootstrapInput {
  taskId: string;
  repository: string;
  worktree: string;
  taskDir: string;
  /** The agent's home: the install's too (its package cache). */
  home: string;
  bootstrap: WorkspaceBootstrap;
  /** The install is the repository's code: it runs in the task's sandbox, with bootstrap.network's wider list. */
  sandbox: SandboxSettings;
}

export interface Bootstrapped {
  port: number;
  bootstrap: BootstrapResult;
}

/** Copies the listed files that exist here; a file that resolves outside the repository is refused. */
function copyEnvFiles(repository: string, worktree: string, files: string[]): Pick<BootstrapResult, 'copied' | 'missing'> {
  const root = realpathSync(repository);
  const copied: string[] = [];
  const missing: string[] = [];
  for (const file of files) {
    const source = join(repository, file);
    if (!existsSync(source) || !statSync(source).isFile()) {
      missing.push(file);
      continue;
    }
    // RepoRelativePath forbids "..": a symlink is the remaining way out of the repository.
    if (!realpathSync(source).startsWith(root + sep)) throw nonRetryable(FailureType.InvalidInput, `bootstrap env file ${file} resolves outside the repository`);
    mkdirSync(dirname(join(worktree, file)), { recursive: true });
    copyFileSync(source, join(worktree, file));
    copied.push(file);
  }
  return { copied, missing };
}

export async function bootstrapWorkspace({ taskId, repository, worktree, taskDir, home, bootstrap, sandbox }: BootstrapInput): Promise<Bootstrapped> {
  const record = join(taskDir, 'workspace.json');
  // In the task folder, which the agent's HOME is part of: read only as the regular file we wrote.
  const done = readRegularFile(record);
  if (done !== undefined) return JSON.parse(done) as Bootstrapped;
  mkdirSync(taskDir, { recursive: true, mode: 0o700 });
  const result: BootstrapResult = copyEnvFiles(repository, worktree, bootstrap.envFiles);
  if (bootstrap.install) {
    const logFile = join(taskDir, 'bootstrap.log');
    const install = bootstrap.install;
    const sandboxed = { name: 'the bootstrap install', kind: 'command' as const, taskId, worktree, home, allow: bootstrap.network?.allow };
    const { check, egress } = await withSandbox(sandbox, sandboxed, async (run) => {
      const done = await runCheck({ name: 'install', ...install }, { cwd: worktree, logFile, sandbox: run });
      return { check: done, egress: run.egress() };
    });
    result.install = { exitCode: check.exitCode ?? -1, durationMs: check.durationMs, logFile, ...(egress ? { egress } : {}) };
    if (check.status !== 'passed') {
      // The repository's install is broken or timed out: a human must look, retrying will not help.
      throw nonRetryable(FailureType.InvalidInput, `bootstrap install \`${bootstrap.install.command}\` ${check.status === 'timed_out' ? 'timed out' : `exited with ${check.exitCode}`}:\n${check.outputTail}`);
    }
  }
  const bootstrapped: Bootstrapped = { port: await freePort(), bootstrap: result };
  writeFileAtomic(record, JSON.stringify(bootstrapped));
  return bootstrapped;
}
