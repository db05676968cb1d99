// The TaskSpec: what a requester asks for. Validated at the client edge (an invalid spec starts
// nothing) and again at intake. Every value that could reach a shell, a path, a branch name or a
// tmux target is constrained here; free text reaches the agent through files only.
import type { Duration, Priority } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { CONTROL_CHARACTER } from '../policy/text.ts';

export const TASK_SHAPES = ['backend', 'ui', 'refactor', 'bug', 'git', 'spec'] as const;
export type TaskShape = (typeof TASK_SHAPES)[number];

/**
 * A task's place in the task queues, most urgent first: the name of one of Temporal's priority
 * keys (1 is dispatched first, 5 last; Temporal's default is 3). A queued task with a lower key
 * goes before every queued task with a higher one, whatever their order of arrival; within one
 * level, repositories take turns (see taskPriority). `hotfix` is for what must not wait (a broken
 * main, an incident); `canary` for trial runs (a strategy's canary tasks, experiments) that
 * should only use capacity nothing else wants.
 */
export const TASK_PRIORITIES = ['hotfix', 'high', 'normal', 'low', 'canary'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
/** Temporal's priorityKey of each level: 1 (first) … 5 (last); `normal` is Temporal's own default, 3. */
export const PRIORITY_KEYS: Readonly<Record<TaskPriority, number>> = { hotfix: 1, high: 2, normal: 3, low: 4, canary: 5 };

/** Lowercase slug: safe as a workflow id, branch suffix, tmux session name and folder name. */
export const Slug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/, 'a slug: 1-48 lowercase letters, digits and inner "-" (e.g. "fix-login-redirect")');

/** An absolute path with no "..", no control characters and no option-like segments. */
export const SafeAbsolutePath = z
  .string()
  .min(2)
  .max(4096)
  .refine((p) => p.startsWith('/'), 'an absolute path')
  .refine((p) => !/\p{Cc}/u.test(p), 'no control characters')
  .refine((p) => !p.split('/').some((seg) => seg === '..' || seg.startsWith('-')), 'no ".." segments and no segment starting with "-"');

/** `owner/name` as GitHub spells them. */
export const GitHubRepository = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, 'a GitHub repository as "owner/name"')
  .refine((r) => !r.endsWith('/.') && !r.endsWith('/..'), 'a GitHub repository as "owner/name"');

/** Where a task's code lives: a local repository (an absolute path) or a GitHub `owner/name`. */
export const RepositoryRef = z.string().superRefine((value, ctx) => {
  const parsed = (isLocalRepository(value) ? SafeAbsolutePath : GitHubRepository).safeParse(value);
  if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
});

export const isLocalRepository = (repository: string) => repository.startsWith('/');

/** A repository-relative file path (hints, changed files): no escape from the repository. */
export const RepoRelativePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.startsWith('/') && !p.startsWith('-'), 'relative to the repository, not starting with "/" or "-"')
  .refine((p) => !p.split('/').includes('..'), 'no ".." segments')
  .refine((p) => !/\p{Cc}/u.test(p), 'no control characters');

/** A git branch name per `git check-ref-format`, minus anything that could read as an option. */
export const BranchName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'letters, digits, ".", "_", "/", "-", starting with a letter or digit')
  .refine((b) => !b.includes('..') && !b.includes('//') && !b.endsWith('/') && !b.endsWith('.') && !b.endsWith('.lock') && !b.includes('@{'), 'a valid git branch name');

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "30s", "10m" or "1d"');

/** The monitor's shortest tick: below it the loop is a busy wait that floods the history. */
export const MIN_MONITOR_INTERVAL_MS = 1_000;

/**
 * Text a human wrote (titles, descriptions, criteria): tabs and line breaks are fine, other
 * control characters (a NUL above all) cannot travel through git, tmux, Postgres or a prompt file.
 */
export const FreeText = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'not empty')
    .max(max)
    .refine((t) => !CONTROL_CHARACTER.test(t), 'no control characters other than tab and line breaks (it holds a NUL or another control character)');

export const TaskSpecSchema = z.object({
  id: Slug,
  /** A local git repository (an absolute path, the local forge) or GitHub `owner/name`. */
  repository: RepositoryRef,
  baseBranch: BranchName.default('main'),
  title: FreeText(200).refine((t) => !/[\n\r]/.test(t), 'one line'),
  description: FreeText(20_000),
  acceptanceCriteria: z.array(FreeText(2_000)).min(1, 'at least one acceptance criterion').max(50),
  shape: z.enum(TASK_SHAPES),
  /** An agent name from the configuration; else routed by shape. */
  agent: Slug.optional(),
  /**
   * How urgent the task is: hotfix (priority key 1, dispatched first), high (2), normal (3, the
   * default when unset), low (4), canary (5, last). Unset is not written as `normal`, so a spec
   * from before the field existed is still the same spec.
   */
  priority: z.enum(TASK_PRIORITIES, { error: `a priority: one of ${TASK_PRIORITIES.join(', ')} (hotfix first, canary last; unset is normal)` }).optional(),
  /** The host (its SWARM_HOST_ID) whose worker holds the task's worktree and runs its agent; the configured one when unset. */
  host: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'a host id: letters, digits, ".", "_" or "-", starting with a letter or digit').max(100).optional(),
  hints: z
    .object({
      files: z.array(RepoRelativePath).max(100).default([]),
      interfaces: z.array(FreeText(2_000)).max(50).default([]),
      expectedTests: z.array(FreeText(2_000)).max(50).default([]),
    })
    .prefault({}),
  limits: z
    .object({
      maxAttempts: z.number().int().min(1).max(10).default(3),
      monitorInterval: duration.refine((d) => msToNumber(d as Duration) >= MIN_MONITOR_INTERVAL_MS, `at least ${MIN_MONITOR_INTERVAL_MS / 1000} s: a shorter tick is a busy loop`).default('10m'),
      /** Respawns of one attempt after rate limits or provider faults (they spend no attempt) before a human is asked. */
      maxAgentFaults: z.number().int().min(0).max(50).default(6),
      /** Review rounds with blocking findings before a human decides (reviewers must not keep a task alive forever). */
      maxReviewRounds: z.number().int().min(1).max(10).default(2),
      /** Tokens (input, cached included, plus output) all the task's agent runs may spend; a breach stops the agent and asks a human. */
      maxTokens: z.number().int().positive('a positive number of tokens, e.g. 2000000').optional(),
      /** Dollars all the task's agent runs may spend (only runs whose model has a price count); a breach stops the agent and asks a human. */
      maxUsd: z.number().positive('a positive amount in dollars, e.g. 5').optional(),
      /** When the agent counts as stuck and is corrected (defaults: STUCK_DEFAULTS, 4 repeats, 15 idle minutes). */
      stuck: z
        .object({
          /** The same tool call, or the same failing command with no file change, this many times in a row. */
          repeats: z.number().int().min(2, 'at least 2: one call is no repeat').max(100).optional(),
          /** Minutes with no file change and no new output. */
          idleMinutes: z.number().int().min(1).max(24 * 60).optional(),
        })
        .optional(),
    })
    .prefault({}),
  notifyOnComplete: z.boolean().default(true),
  /** Who asked for the task (an approver's name or a GitHub login): they cannot approve it alone (approvals.requesterMayApprove). */
  requestedBy: z.string().trim().min(1).max(100).regex(/^[^\s,]+$/, 'a name or login, without spaces or commas').optional(),
  /** The GitHub issue the task came from (intake): its PR closes it and it carries the progress comment. */
  issue: z
    .object({
      repository: GitHubRepository,
      number: z.number().int().min(1),
      url: z.url({ protocol: /^https?$/ }).max(2_000),
    })
    .optional(),
});

export type TaskSpec = z.infer<typeof TaskSpecSchema>;
export type TaskSpecInput = z.input<typeof TaskSpecSchema>;

export class InvalidTaskSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid task spec:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidTaskSpecError';
  }
}

/** Parses a spec, or throws InvalidTaskSpecError naming every bad field. */
export function parseTaskSpec(input: unknown): TaskSpec {
  const parsed = TaskSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new InvalidTaskSpecError(parsed.error.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`));
}

export const taskWorkflowId = (taskId: string) => `task-${taskId}`;
/** What the Web UI shows of a task's workflow before it runs: one line, and the spec in markdown. */
export const taskDisplay = (spec: TaskSpec) => ({
  staticSummary: `${spec.id}: ${spec.title}`.slice(0, 190),
  staticDetails: [`**${spec.title}** (${spec.shape})`, '', spec.description, '', '**Acceptance criteria**', ...spec.acceptanceCriteria.map((c) => `- ${c}`)].join('\n').slice(0, 19_000),
});
/** Temporal's limit on a fairness key, in UTF-8 bytes. */
export const FAIRNESS_KEY_MAX_BYTES = 64;

/**
 * The fairness key of a repository: tasks of one repository share it, so within a priority level
 * the task queues take the repositories in turn instead of in order of arrival (one busy
 * repository cannot starve the others). The repository as written when it fits Temporal's 64
 * bytes (a GitHub `owner/name` in lower case: GitHub's names ignore case); a longer one (a deep
 * local path) is the first 16 hex digits of its SHA-256, ":" and as much of its end as fits.
 */
export function repositoryFairnessKey(repository: string): string {
  const name = isLocalRepository(repository) ? repository.replace(/(?<=.)\/+$/, '') : repository.toLowerCase();
  if (utf8ToBytes(name).length <= FAIRNESS_KEY_MAX_BYTES) return name;
  const digest = bytesToHex(sha256(utf8ToBytes(name))).slice(0, 16);
  const room = FAIRNESS_KEY_MAX_BYTES - digest.length - 1;
  // The longest end of the name that fits, cut between characters (never inside one).
  const chars = [...name];
  let tail = '';
  for (let i = chars.length - 1; i >= 0 && utf8ToBytes(chars[i]! + tail).length <= room; i--) tail = chars[i]! + tail;
  return `${digest}:${tail}`;
}

/**
 * The Temporal priority a task's workflow is started with (the client's startTask, the issue
 * intake's child): its level's priority key, and its repository as the fairness key. The task's
 * activities and a continued-as-new run inherit both from the workflow.
 */
export function taskPriority(spec: Pick<TaskSpec, 'repository' | 'priority'>): Priority {
  return { priorityKey: PRIORITY_KEYS[spec.priority ?? 'normal'], fairnessKey: repositoryFairnessKey(spec.repository) };
}

export const taskBranch = (taskId: string) => `swarm/${taskId}`;
export const taskSession = (taskId: string) => `swarm-${taskId}`;
