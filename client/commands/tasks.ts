// The task commands of the `swarm` CLI: start, status, the registry, and the human's signals.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config.ts';
import { renderDetails } from '../../workflows/task/state.ts';
import { GitHubRepository, TASK_PRIORITIES, TASK_SHAPES, type TaskSpecInput } from '../../workflows/task/spec.ts';
import { REGISTRY_STATUSES, type RegistryStatus } from '../../workflows/task/registry.ts';
import type { DecideInput } from '../../workflows/task/messages.ts';
import type { InvalidMessageError, SwarmClient } from '../swarm-client.ts';

// What only a command's action needs is imported when it runs: `--help` loads no Temporal SDK.
const messages = () => import('../../workflows/task/messages.ts');
const swarmClient = () => import('../swarm-client.ts');

const collect = (value: string, previous: string[] = []) => [...previous, value];
const isGitHubRepository = (value: string) => GitHubRepository.safeParse(value).success;
const print = (text: string): void => void process.stdout.write(`${text}\n`);
/** The exit code of a command the task took that has not had its effect yet: a redirect queued, an approval set aside. */
const TAKEN_NOT_DONE = 3;

/** An option value the command cannot use (exit 2, like a spec it cannot carry). */
export class InvalidOptionError extends Error {
  override name = 'InvalidOptionError';
}

export async function withClient<T>(fn: (client: SwarmClient) => Promise<T>): Promise<T> {
  const { SwarmClient } = await swarmClient();
  const client = await SwarmClient.connect({ config: loadConfig() });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

interface StartOptions {
  spec?: string;
  id?: string;
  repo?: string;
  base?: string;
  title?: string;
  description?: string;
  criterion?: string[];
  shape?: string;
  agent?: string;
  priority?: string;
  hintFile?: string[];
  maxAttempts?: string;
  monitorInterval?: string;
  fromIssue?: string;
  json?: boolean;
}

/** `owner/name#N`: the issue --from-issue names. */
export function issueReference(value: string): { repository: string; number: number } {
  const m = /^([^/\s#]+\/[^/\s#]+)#([1-9]\d*)$/.exec(value.trim());
  if (!m || !isGitHubRepository(m[1]!)) throw new InvalidOptionError(`--from-issue must name a GitHub issue as owner/name#number, e.g. acme/shop#42 (got "${value}")`);
  return { repository: m[1]!, number: Number(m[2]) };
}

const FROM_ISSUE_ONLY: Array<keyof StartOptions> = ['spec', 'id', 'repo', 'base', 'title', 'description', 'criterion', 'shape', 'agent', 'priority', 'hintFile', 'maxAttempts', 'monitorInterval'];

/** --from-issue: the issue's intake, as its label would run it. Exit 0: started or started before; 1: refused (the reason, also on the issue). */
async function startFromIssue(o: StartOptions): Promise<void> {
  const { repository, number } = issueReference(o.fromIssue!);
  const mixed = FROM_ISSUE_ONLY.filter((k) => o[k] !== undefined);
  if (mixed.length > 0) throw new InvalidOptionError(`--from-issue takes the whole spec from the issue; drop ${mixed.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  const result = await withClient((c) => c.intakeIssue(repository, number));
  if (o.json) print(JSON.stringify(result, null, 2));
  else if (result.outcome === 'started') print(`started: ${result.workflowId} from ${repository}#${number}  (follow it: swarmflow task status ${result.taskId} --watch)${result.comment ? `; the issue links to it: ${result.comment}` : ''}`);
  else if (result.outcome === 'known') print(`already started: ${result.workflowId} is ${repository}#${number}'s task; nothing new started  (swarmflow task status ${result.taskId})`);
  else process.stderr.write(`swarmflow: ${repository}#${number}: no task started: ${result.reason}${result.commented ? ' (said on the issue)' : ''}\n`);
  if (result.outcome === 'refused') process.exitCode = 1;
}

/** `owner/name` is a GitHub repository; anything else is a local path, made absolute. */
export const repositoryOption = (value: string) => (isGitHubRepository(value) && !existsSync(value) ? value : resolve(value));

/** A spec from a JSON file, with any flags given on top. */
export function specFromOptions(o: StartOptions): TaskSpecInput {
  const base = (o.spec ? JSON.parse(readFileSync(o.spec, 'utf8')) : {}) as Record<string, unknown>;
  const overrides: Record<string, unknown> = {
    id: o.id,
    repository: o.repo ? repositoryOption(o.repo) : undefined,
    baseBranch: o.base,
    title: o.title,
    description: o.description,
    acceptanceCriteria: o.criterion,
    shape: o.shape,
    agent: o.agent,
    priority: o.priority,
  };
  const spec: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) spec[k] = v;
  if (o.hintFile) spec.hints = { ...(base.hints as object), files: o.hintFile };
  if (o.maxAttempts || o.monitorInterval) {
    spec.limits = { ...(base.limits as object), ...(o.maxAttempts ? { maxAttempts: Number(o.maxAttempts) } : {}), ...(o.monitorInterval ? { monitorInterval: o.monitorInterval } : {}) };
  }
  return spec as TaskSpecInput;
}

export function registerTaskCommands(program: Command): void {
  const taskCmd = program.command('task').description('start a task or look at one');

  taskCmd
    .command('start')
    .description('start a task from a spec file and/or flags (idempotent on the task id)')
    .option('--spec <file>', 'a TaskSpec JSON file')
    .option('--id <slug>', 'task id (a slug)')
    .option('--repo <path|owner/name>', 'the local git repository, or a GitHub owner/name')
    .option('--base <branch>', 'base branch (default main)')
    .option('--title <text>')
    .option('--description <text>')
    .option('--criterion <text>', 'an acceptance criterion (repeatable)', collect)
    .option('--shape <shape>', `one of ${TASK_SHAPES.join(', ')}`)
    .option('--agent <name>', 'a configured agent (default: routed by shape)')
    .option('--priority <level>', `${TASK_PRIORITIES.join(', ')}: hotfix is taken first, canary last (default normal)`)
    .option('--hint-file <path>', 'a file the agent should look at (repeatable)', collect)
    .option('--max-attempts <n>')
    .option('--monitor-interval <duration>', 'e.g. 10m')
    .option('--from-issue <owner/name#N>', "a GitHub issue becomes the task, as its intake label would make it (the issue's title, body and checklist are the spec; no other spec option)")
    .option('--json', 'print the result as JSON')
    .action(async (o: StartOptions) => {
      if (o.fromIssue !== undefined) return startFromIssue(o);
      // Refuse a bad spec before connecting: none of that depends on the server.
      const { startableSpec } = await swarmClient();
      const spec = startableSpec(specFromOptions(o), loadConfig());
      const started = await withClient((c) => c.startTask(spec));
      const what = started.started ? (started.previousRun ? `started again (its last run ${started.previousRun.status.toLowerCase()})` : 'started') : started.existing === 'merged' ? 'already merged, the same spec' : 'already running, the same spec';
      print(o.json ? JSON.stringify(started, null, 2) : `${what}: ${started.workflowId}  (follow it: swarmflow task status ${started.taskId} --watch)`);
    });

  taskCmd
    .command('status <id>')
    .description('the task step by step, its Definition of Done and latest events')
    .option('--json', 'print the full typed state as JSON')
    .option('--watch', 'keep printing as the task moves, until it finishes')
    .action(async (id: string, o: { json?: boolean; watch?: boolean }) => {
      await withClient(async (c) => {
        if (!o.watch) {
          const state = await c.getTask(id);
          print(o.json ? JSON.stringify(state, null, 2) : renderDetails(state));
          return;
        }
        for await (const state of c.watch(id)) print(o.json ? JSON.stringify(state) : `\n${renderDetails(state)}`);
      });
    });

  program
    .command('tasks')
    .description("the task registry, newest first, from Temporal's visibility: active tasks, and finished ones with their terminal contract")
    .option('--json', 'print the registry as JSON')
    .option('--limit <n>', 'show at most this many tasks', '100')
    .option('--status <status>', `only tasks with this status: ${REGISTRY_STATUSES.join(', ')}`)
    .action(async (o: { json?: boolean; limit: string; status?: string }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new InvalidOptionError(`--limit must be a whole number of tasks, at least 1 (got "${o.limit}")`);
      const status = o.status as RegistryStatus | undefined;
      if (status !== undefined && !REGISTRY_STATUSES.includes(status)) throw new InvalidOptionError(`--status must be one of ${REGISTRY_STATUSES.join(', ')} (got "${o.status}")`);
      const page = await withClient((c) => c.registry({ limit, status }));
      // --json is the registry itself (the runbook's active-tasks.json shape); a cut is said on stderr.
      if (o.json) print(JSON.stringify(page.entries, null, 2));
      else if (page.entries.length === 0) print(o.status ? `no tasks with status ${o.status}` : 'no tasks yet (start one: swarmflow task start --help)');
      else {
        for (const e of page.entries) print('step' in e ? `${e.id.padEnd(28)} ${e.status.padEnd(18)} ${e.step.padEnd(11)} ${e.agent ?? '-'}  attempts ${e.attempts}` : `${e.id.padEnd(28)} ${e.status.padEnd(18)} PR ${e.pr ?? '-'}  ${e.note}`);
      }
      if (page.more) process.stderr.write(`more than ${limit} tasks: --limit ${limit * 10} shows more\n`);
    });

  program
    .command('approve <id>')
    .description(
      'approve the merge and wait for it (refused while the Definition of Done is unmet, if you are not an approver, or once the merge is under way). Exit 0: merged; 3: approved but set aside (the head or base moved, or the forge refused: the task verifies again or waits, then asks again); 1: refused; 2: text it cannot carry',
    )
    .requiredOption('--by <name>', 'who approves (on the approvers list; signs with their key, see swarm keys create)')
    .option('--comment <text>')
    .option('--head <sha>', 'the PR head you reviewed (default: the head the task has now): the approval is refused if the PR has moved on')
    .action(async (id: string, o: { by: string; comment?: string; head?: string }) => decideCommand(id, { decision: 'approve', by: o.by, comment: o.comment }, o.head));

  program
    .command('reject <id>')
    .description('reject the task and wait until its PR is closed, its clone, session and branch removed (refused once the merge is under way). Exit 0: rejected; 1: refused; 2: text it cannot carry')
    .requiredOption('--by <name>', 'who rejects (on the approvers list; signs with their key, see swarm keys create)')
    .requiredOption('--reason <text>')
    .option('--head <sha>', 'the PR head you reviewed (default: the head the task has now)')
    .action(async (id: string, o: { by: string; reason: string; head?: string }) => decideCommand(id, { decision: 'reject', by: o.by, reason: o.reason }, o.head));

  program
    .command('redirect <id> <message>')
    .description(
      'steer the agent: typed into its live tmux session, or queued (a headless CLI resumes its session with it after its current turn; with no live session the next run gets it in its prompt). Exit 0: delivered; 3: queued, not delivered yet; 1: refused by the task (it has ended); 2: text it cannot carry',
    )
    .option('--by <name>')
    .action(async (id: string, message: string, o: { by?: string }) => {
      const { redirectProblem, senderProblem } = await messages();
      await steer('redirect', redirectProblem(message) ?? senderProblem(o.by), async (c) => {
        const result = await c.redirect(id, message, o.by);
        if (result.status !== 'delivered') process.exitCode = TAKEN_NOT_DONE;
        return `${id}: ${result.detail}`;
      });
    });

  program
    .command('retry <id> <guidance>')
    .description('give a task that needs a human one more go, with guidance for the agent. Exit 0: granted; 1: refused (the task is not waiting for a human); 2: text it cannot carry')
    .option('--by <name>')
    .action(async (id: string, guidance: string, o: { by?: string }) => {
      const { retryInputProblem } = await messages();
      await steer('retry', retryInputProblem({ guidance, by: o.by }), async (c) => `${id}: ${(await c.retry(id, guidance, o.by)).detail}`);
    });

  program
    .command('abort <id>')
    .description('stop the task and clean up (worktree, tmux session, branch). Exit 0: aborting; 1: refused (the merge is under way, or the task has ended); 2: text it cannot carry')
    .option('--by <name>')
    .option('--reason <text>')
    .action(async (id: string, o: { by?: string; reason?: string }) => {
      const { abortInputProblem } = await messages();
      await steer('abort', abortInputProblem(o), async (c) => `${id}: ${(await c.abort(id, { ...(o.by === undefined ? {} : { by: o.by }), ...(o.reason === undefined ? {} : { reason: o.reason }) })).detail}`);
    });
}

/**
 * Sends an operator's message and prints the task's answer. Text the task cannot carry is refused
 * before connecting (exit 2, no server needed); a refusal by the task prints its reason (exit 1).
 */
async function steer(command: InvalidMessageError['command'], problem: string | undefined, send: (client: SwarmClient) => Promise<string>): Promise<void> {
  const [{ WorkflowUpdateFailedError }, { InvalidMessageError, TaskEndedError }] = await Promise.all([import('@temporalio/client'), swarmClient()]);
  if (problem) {
    process.stderr.write(`swarmflow: ${new InvalidMessageError(command, problem).message}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    print(await withClient(send));
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError) && !(err instanceof TaskEndedError)) throw err;
    process.stderr.write(`swarmflow: ${err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : err.message}\n`);
    process.exitCode = 1;
  }
}

async function decideCommand(id: string, input: DecideInput, headSha: string | undefined): Promise<void> {
  const { decideInputProblem } = await messages();
  await steer(input.decision === 'approve' ? 'approval' : 'rejection', decideInputProblem(input), async (c) => {
    const { findApproverKey } = await import('../approver-key.ts');
    const found = findApproverKey(c.config, input.by);
    if (!found.key) process.stderr.write(`swarmflow: no key for ${input.by} (looked in ${found.lookedIn}): the ${input.decision === 'approve' ? 'approval' : 'rejection'} goes unsigned; create one with: swarm keys create ${input.by}\n`);
    // The task answers once the decision took effect: merged, rejected and cleaned up, or an approval set aside.
    const state = await c.decide(id, input, { key: found.key, headSha });
    if (state.status === 'merged') return `merged: ${id}, PR #${state.checks.pr?.number ?? '?'} as ${state.merge?.sha.slice(0, 12) ?? '?'}`;
    if (state.status === 'rejected') return `rejected: ${id} (PR closed, clone, session and branch removed)`;
    process.exitCode = TAKEN_NOT_DONE;
    return `approved, not merged: ${id} is ${state.status.replace('_', ' ')}: ${state.notes.at(-1)?.replace(/^\S+ /, '') ?? ''}`;
  });
}
