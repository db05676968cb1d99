// Shared by the tests that run the real agent CLIs through the production agent activities
// (test/integration/agent-clis.test.ts headless, agent-tui.test.ts interactive): the agent as the
// config file would declare it against the model stand-in, the test repository, the worker-side
// API keys, and finding the task's CLI processes by SWARM_TASK_ID.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { AttemptFiles } from '../../activities/agents/paths.ts';
import { taskProcesses } from '../../activities/agents/reap.ts';
import type { CliKind } from '../../activities/agents/adapters/index.ts';
import { git } from '../../activities/git.ts';
import type { AgentCommand } from '../../workflows/task/types.ts';
import { MODELS, rssKb } from './model-server/clis.ts';
import { findOnPath } from '../../scripts/tools.mjs';

export const CLI_KINDS: CliKind[] = ['codex', 'claude', 'gemini'];

/** Where each CLI reads its key (the adapters' default apiKeyEnv on the worker). */
export const KEY_ENV: Record<CliKind, string> = { codex: 'OPENAI_API_KEY', claude: 'ANTHROPIC_API_KEY', gemini: 'GEMINI_API_KEY' };

/** Fresh, recognisable keys per test file, shaped like each provider's. */
export const testApiKeys = (): Record<CliKind, string> => ({ codex: `sk-test-${randomUUID()}`, claude: `sk-ant-test-${randomUUID()}`, gemini: `AIza-test-${randomUUID()}` });

/** The stand-in's URL as each CLI's base URL: Codex's provider takes the `/v1` prefix. */
export const baseUrlFor = (kind: CliKind, serverUrl: string) => (kind === 'codex' ? `${serverUrl}/v1` : serverUrl);

/** The agent as the app configures it from the config file (agents.<name>), against the stand-in, with no retries. */
export const cliAgent = (kind: CliKind, serverUrl: string, mode: 'headless' | 'interactive'): AgentCommand => ({
  name: kind,
  kind,
  command: [kind],
  passEnv: [],
  model: MODELS[kind],
  mode,
  baseUrl: baseUrlFor(kind, serverUrl),
  retries: 0,
});

/** A git repository at `dir` with one commit (README.md) on `main`. */
export async function createTestRepo(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await git(dir, ['init', '--quiet', '--initial-branch=main']);
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '--quiet', '-m', 'initial commit']);
  return dir;
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, describeState?: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describeState ? `\n${await describeState()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A process's environment; empty when it exited since it was listed (a CLI's short-lived helper). */
export function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean);
  } catch (err) {
    if (['ESRCH', 'ENOENT'].includes((err as NodeJS.ErrnoException).code ?? '')) return [];
    throw err;
  }
}

export const cmdlineOf = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

/** Every process on this machine whose argv (readable by any local process) contains `text`. */
export function argvHolding(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return cmdlineOf(pid).join(' ').includes(text);
      } catch {
        return false; // exited meanwhile
      }
    });
}

/** A run's plan, exit code and the end of its log, for a failure to be read. */
export function runState(files: AttemptFiles): string {
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim() : '(none)');
  return `plan: ${read(files.planFile)}\nexit code: ${read(files.exitFile)}\nagent.log (end):\n${read(files.logFile).slice(-4_000)}`;
}

/** Every regular file under `dir` whose content contains `text`, as paths relative to `dir`. */
export function filesHolding(dir: string, text: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => {
      try {
        return readFileSync(file, 'latin1').includes(text);
      } catch {
        return false; // removed meanwhile
      }
    })
    .map((file) => relative(dir, file));
}

/**
 * The task's processes that are the CLI itself (its launcher and what the launcher starts), found
 * by SWARM_TASK_ID: a program or script named after it, never the runner or a shell.
 */
export function cliProcesses(taskId: string, kind: CliKind): number[] {
  const named = new RegExp(`^${kind}(\\.js|\\.exe)?$`);
  return taskProcesses(taskId).filter((pid) => {
    try {
      const argv = cmdlineOf(pid);
      return argv.slice(0, 3).some((arg) => !arg.startsWith('-') && named.test(basename(arg)));
    } catch {
      return false; // exited meanwhile
    }
  });
}

/** Summed VmRSS of the task's processes (found by their SWARM_TASK_ID, sandboxed ones too), sampled every 100 ms until stopped; the peak in MiB. */
export function sampleTaskRss(taskId: string): () => number {
  let peakKb = 0;
  const timer = setInterval(() => {
    peakKb = Math.max(peakKb, taskProcesses(taskId).reduce((sum, pid) => sum + rssKb(pid), 0));
  }, 100);
  return () => {
    clearInterval(timer);
    return Math.round(peakKb / 1024);
  };
}

/** A PATH folder (under `dir`) with everything an agent's spawn uses but bubblewrap: a host without the sandbox. */
export function pathWithoutBwrap(dir: string): string {
  const bin = join(dir, 'bin-without-bwrap');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['git', 'tmux', 'node', 'bash', 'sh', 'env', 'setpriv', 'prlimit']) {
    const found = findOnPath(tool);
    if (found && !existsSync(join(bin, tool))) symlinkSync(found, join(bin, tool));
  }
  return bin;
}
