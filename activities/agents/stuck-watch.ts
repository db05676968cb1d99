// The stuck watch (issue #13): while an attempt's run goes, it reads what the agent does as the
// pure detector's Observations (workflows/policy/evidence/stuck.ts) and returns as soon as the
// verdict says stuck, so the workflow corrects the agent now instead of at its next monitor tick;
// or when the run ends.
//   - every 2 s, the new lines of the run's CLI events (a headless CLI's events.jsonl), as steps
//     (stepsOf): a shell command with its exit code, any other tool call with its input as
//     canonical JSON, so the same call always reads the same; timed by the event's own timestamp
//     where the CLI writes one, else by the read;
//   - every 10 s, and after every read that brought a step, a progress sample: how often the
//     worktree's content was seen to change, and the bytes of output the run has printed.
// Everything the agent can touch is read as data only: the events through readNewLines (regular
// files, O_NOFOLLOW), sizes by lstat, and the worktree through our git dir with a scratch index and
// object folder of the worker's (never the clone's config, hooks or index; see task-branch.ts).
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stepsOf, type AgentCli, type Step } from '../../workflows/policy/evidence/steps.ts';
import { firstRepeatAt, stuckVerdict, type Observation, type StuckLimits, type StuckVerdict } from '../../workflows/policy/evidence/stuck.ts';
import { taskSession } from '../../workflows/task/spec.ts';
import { beat, pause } from '../activity-context.ts';
import { git } from '../git.ts';
import { canonicalJson } from '../store/evidence/canonical.ts';
import { parseJsonLines, readNewLines } from './files.ts';
import { exitCodeIn } from './kept-logs.ts';
import { readRecord } from './launch.ts';
import { spawnKey, type AttemptFiles } from './paths.ts';
import { sessionAttempt, type SessionDeps } from './session.ts';
import { readWorkspaceRecord } from './workspace.ts';

const EVENTS_EVERY_MS = 2_000;
/** How often a re-armed watch looks whether the runner has taken its correction (the runner looks every 0.5 s). */
const TAKEN_EVERY_MS = 250;
const PROGRESS_EVERY_MS = 10_000;
/** Call events whose results may come in a later read; a call older than this many is dropped. */
const MAX_CARRIED = 50;
/** Observations kept: the verdict looks at the last few calls and the recent samples only. */
const MAX_OBSERVATIONS = 2_000;

export interface StuckWatchInput {
  taskId: string;
  attempt: number;
  run: number;
  worktree: string;
  limits: StuckLimits;
  /** Where in the events file to start: a re-armed watch looks only at what came after its last verdict. */
  eventsOffset: number;
  /**
   * A re-armed watch after a correction queued in the inbox (its name there): it judges only what
   * the agent does once its session has taken it. The calls made while the runner was still
   * interrupting the turn are the old loop, not a new one.
   */
  afterCorrection?: string;
}

export type StuckWatchResult =
  /** The run ended first. */
  | { stuck: false; eventsOffset: number }
  | {
      stuck: true;
      verdict: Extract<StuckVerdict, { stuck: true }>;
      /** Wall-clock ms on this host: the agent's first repeat (see firstRepeatAt) and this verdict. */
      firstRepeatAtMs: number;
      detectedAtMs: number;
      eventsOffset: number;
    };

/** A tool step as an observation: anything with a shell command is a command (Claude's Bash, Codex's shell, Gemini's run_shell_command). */
function observationOf(step: Extract<Step, { kind: 'tool' }>, atMs: number): Observation {
  const { command } = step.input;
  if (typeof command === 'string') return { kind: 'command', atMs, command, exitCode: step.exitCode ?? (step.ok ? 0 : 1) };
  return { kind: 'tool_call', atMs, tool: step.name, input: canonicalJson(step.input) };
}

/**
 * When the agent did it: the event's own timestamp where its CLI writes one (Claude Code does), else
 * when we read it. Never later than now: a time the agent wrote can only move its own verdict.
 */
function eventTime(event: unknown, now: number): number {
  const stamp = (event as { timestamp?: unknown } | null)?.timestamp;
  const at = typeof stamp === 'string' ? Date.parse(stamp) : NaN;
  return Number.isFinite(at) && at <= now ? at : now;
}

const toolSteps = (cli: AgentCli, events: unknown[]) => stepsOf(cli, events).filter((s): s is Extract<Step, { kind: 'tool' }> => s.kind === 'tool');

/** The bytes a regular file holds (never following a link the agent planted), 0 for anything else. */
const sizeOf = (file: string) => {
  try {
    const stat = lstatSync(file);
    return stat.isFile() ? stat.size : 0;
  } catch {
    return 0;
  }
};

/**
 * The clone's working tree as a tree id, hashed through our git dir into a scratch index and object
 * folder (nothing is written into either repository); undefined when it cannot be read right now.
 */
export async function worktreeTree(checkout: string, clone: string, scratch: string): Promise<string | undefined> {
  try {
    return await hashWorktree(checkout, clone, scratch);
  } catch {
    // A sample that cannot be taken (the clone mid-removal, git gone) only leaves the count as it was.
    return undefined;
  }
}

async function hashWorktree(checkout: string, clone: string, scratch: string): Promise<string | undefined> {
  const gitDir = (await git(checkout, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
  // git refuses a repository whose object folder is missing.
  mkdirSync(join(scratch, 'objects'), { recursive: true });
  const env = { GIT_INDEX_FILE: join(scratch, 'index'), GIT_OBJECT_DIRECTORY: join(scratch, 'objects'), GIT_ALTERNATE_OBJECT_DIRECTORIES: join(gitDir, 'objects') };
  const inClone = (args: string[]) => git(clone, [`--git-dir=${gitDir}`, `--work-tree=${clone}`, ...args], { env, allowFailure: true });
  const added = await inClone(['add', '--all']);
  if (added.exitCode !== 0) return undefined;
  const tree = await inClone(['write-tree']);
  return tree.exitCode === 0 ? tree.stdout.trim() : undefined;
}

export async function watchForStuck({ paths, tmux }: SessionDeps, input: StuckWatchInput): Promise<StuckWatchResult> {
  const { taskId, attempt, run, worktree, limits } = input;
  const files: AttemptFiles = paths.attempt(taskId, attempt, run);
  const session = taskSession(taskId);
  const record = readRecord(files);
  // A TUI or a command agent streams no events: only the idle rule can see it stuck.
  const cli: AgentCli | undefined = record?.headless ? record.kind : undefined;
  const { checkout } = readWorkspaceRecord(paths.workspaceRecord(taskId));
  const scratch = mkdtempSync(join(tmpdir(), 'swarmflow-stuck-watch-'));
  let eventsOffset = input.eventsOffset;
  let correction = input.afterCorrection;
  let carried: unknown[] = [];
  let observations: Observation[] = [];
  let lastTree: string | undefined;
  let fileChanges = 0;
  let sampledAt = -Infinity;

  const sample = async (atMs: number) => {
    const tree = await worktreeTree(checkout, worktree, scratch);
    if (tree !== undefined && lastTree !== undefined && tree !== lastTree) fileChanges++;
    lastTree = tree ?? lastTree;
    observations.push({ kind: 'progress', atMs, fileChanges, outputBytes: sizeOf(files.eventsFile) + sizeOf(files.logFile) });
    sampledAt = atMs;
  };

  try {
    for (;;) {
      beat({ eventsOffset });
      // Same order as awaitAgentExit: the session, then the exit file.
      const alive = (await sessionAttempt(tmux, session)) === spawnKey(attempt, run);
      if ((await exitCodeIn(paths.stateDir, files.dir)) !== undefined || !alive) return { stuck: false, eventsOffset };
      if (correction !== undefined) {
        // Still waiting in the inbox: the runner renames it once it resumes the session with it.
        if (existsSync(join(files.inbox, correction))) {
          await pause(TAKEN_EVERY_MS);
          continue;
        }
        correction = undefined;
        eventsOffset = sizeOf(files.eventsFile);
      }
      const now = Date.now();
      const seen: Observation[] = [];
      if (cli) {
        const read = readNewLines(files.eventsFile, eventsOffset);
        eventsOffset = read.offset;
        for (const event of parseJsonLines(read.lines.join('\n'))) {
          // A call (Claude's tool_use, Gemini's tool_use) becomes a step with its result, which may come in a later read.
          const steps = toolSteps(cli, [...carried, event]);
          if (steps.length === 0) carried = [...carried, event].slice(-MAX_CARRIED);
          seen.push(...steps.map((s) => observationOf(s, eventTime(event, now))));
        }
      }
      // A sample after every read that brought a step (an edit tool's, a command's): an edit between
      // two runs of the same command is seen, up to one read's granularity.
      if (now - sampledAt >= PROGRESS_EVERY_MS || seen.length > 0) await sample(now);
      observations.push(...seen);
      if (observations.length > MAX_OBSERVATIONS) observations = observations.slice(-MAX_OBSERVATIONS / 2);
      const verdict = stuckVerdict(observations, now, limits);
      if (verdict.stuck) return { stuck: true, verdict, firstRepeatAtMs: firstRepeatAt(observations, verdict, limits), detectedAtMs: now, eventsOffset };
      await pause(EVENTS_EVERY_MS);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
