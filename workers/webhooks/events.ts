// GitHub webhook deliveries → the task workflows they concern. Pure: no I/O, no clock, so every
// rule is unit tested on its own (test/unit/webhooks-mapping.test.ts).
//
// A task's branch is `swarm/<taskId>` (workflows/task/spec.ts); an event concerns the tasks whose
// branch it names. The signal carries a small, typed summary, never the payload: it is only a
// wake-up, and the workflow re-reads the forge (PR, checks, statuses, reviews) before it acts.
import { z } from 'zod';
import type { ForgeEvent } from '../../workflows/task/messages.ts';
import { Slug, taskBranch, taskWorkflowId } from '../../workflows/task/spec.ts';

/** The events turned into signals; every other event is acknowledged (202) and ignored. */
export const SIGNALLED_EVENTS = ['pull_request', 'pull_request_review', 'check_run', 'check_suite', 'status', 'push'] as const;
export type SignalledEvent = (typeof SIGNALLED_EVENTS)[number];

/** What a task workflow receives through the `forgeEvent` signal (defined with the other messages). */
export type { ForgeEvent };

export interface SignalTarget {
  taskId: string;
  workflowId: string;
  event: ForgeEvent;
}

export type WebhookRoute =
  | { outcome: 'ping' }
  /** Acknowledged, nothing to do (another event, a branch that is no task's). */
  | { outcome: 'ignored'; reason: string }
  /** Signed by GitHub, yet not the shape of the event it claims to be. */
  | { outcome: 'invalid'; reason: string }
  | { outcome: 'signal'; targets: SignalTarget[] }
  /** A push to a branch that is no task's (a base, say): every running task of the repository is told. */
  | { outcome: 'repository'; repository: string; event: ForgeEvent }
  /** An issue labelled with the intake label: it becomes a task (workflows/intake). */
  | { outcome: 'intake'; repository: string; number: number; label: string };

const BRANCH_PREFIX = taskBranch('');

/** The task whose branch this is: `swarm/<slug>` → `<slug>`; anything else → undefined. */
export function taskIdForBranch(branch: string | null | undefined): string | undefined {
  if (typeof branch !== 'string') return undefined;
  // Pushes and statuses may name the full ref.
  const name = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  if (!name.startsWith(BRANCH_PREFIX)) return undefined;
  const rest = name.slice(BRANCH_PREFIX.length);
  return Slug.safeParse(rest).success ? rest : undefined;
}

/** `task-<slug>` → `<slug>` (the inverse of taskWorkflowId). */
export function taskIdForWorkflow(workflowId: string): string {
  const prefix = taskWorkflowId('');
  return workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : workflowId;
}

// Only the fields we read. zod's objects drop the rest, so a 25 kB payload becomes a few fields.
const Repository = z.object({ id: z.number().int(), full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/) });
const Sha = z.string().regex(/^[0-9a-f]{40}$/);
/** A PR as embedded in pull_request / pull_request_review events. `head.repo` is null for a deleted fork. */
const PullRequest = z.object({
  number: z.number().int().positive(),
  head: z.object({ ref: z.string(), sha: Sha, repo: z.object({ id: z.number().int() }).nullable() }),
});
/** The minimal PR objects in check_run / check_suite `pull_requests[]`. */
const MinimalPr = z.object({
  number: z.number().int().positive(),
  head: z.object({ ref: z.string(), sha: Sha, repo: z.object({ id: z.number().int() }) }),
});

const PAYLOADS = {
  pull_request: z.object({ action: z.string(), pull_request: PullRequest, repository: Repository }),
  pull_request_review: z.object({ action: z.string(), pull_request: PullRequest, repository: Repository }),
  check_run: z.object({
    action: z.string(),
    check_run: z.object({
      head_sha: Sha,
      pull_requests: z.array(MinimalPr),
      check_suite: z.object({ head_branch: z.string().nullable() }).nullish(),
    }),
    repository: Repository,
  }),
  check_suite: z.object({
    action: z.string(),
    check_suite: z.object({ head_sha: Sha, head_branch: z.string().nullable(), pull_requests: z.array(MinimalPr) }),
    repository: Repository,
  }),
  status: z.object({
    sha: Sha,
    branches: z.array(z.object({ name: z.string(), commit: z.object({ sha: Sha }) })),
    repository: Repository,
  }),
  push: z.object({ ref: z.string(), after: Sha, deleted: z.boolean().optional(), repository: Repository }),
} satisfies Record<SignalledEvent, z.ZodType>;

/** `issues` with action `labeled`: the label added, the issue (a PR's label comes as `pull_request`, but the field tells them apart anyway). */
const LabeledIssue = z.object({
  action: z.literal('labeled'),
  label: z.object({ name: z.string() }),
  issue: z.object({ number: z.number().int().positive(), pull_request: z.unknown().optional() }),
  repository: Repository,
});

/** An `issues` delivery: a task when the label added is the intake label (GitHub compares labels without case). */
function routeIssues(payload: unknown, intakeLabel: string | undefined): WebhookRoute {
  if (!intakeLabel) return { outcome: 'ignored', reason: 'issues: intake from issues is off' };
  const action = (payload as { action?: unknown } | null)?.action;
  if (action !== 'labeled') return { outcome: 'ignored', reason: `issues ${String(action)}: only labeled starts a task` };
  const parsed = LabeledIssue.safeParse(payload);
  if (!parsed.success) return { outcome: 'invalid', reason: `not an issues payload (${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})` };
  const { label, issue, repository } = parsed.data;
  if (label.name.toLowerCase() !== intakeLabel.toLowerCase()) return { outcome: 'ignored', reason: `issues labeled "${label.name}": not the intake label "${intakeLabel}"` };
  if (issue.pull_request !== undefined) return { outcome: 'ignored', reason: `#${issue.number} is a pull request` };
  return { outcome: 'intake', repository: repository.full_name, number: issue.number, label: label.name };
}

const isSignalled = (name: string): name is SignalledEvent => (SIGNALLED_EVENTS as readonly string[]).includes(name);

/** Collects one target per task; the first mention wins unless a later one knows the PR number. */
class Targets {
  private readonly byTask = new Map<string, SignalTarget>();
  constructor(private readonly base: Pick<ForgeEvent, 'kind' | 'action' | 'repository' | 'deliveryId' | 'ref'>) {}

  add(branch: string | null | undefined, fields: { headSha?: string; prNumber?: number }): void {
    const taskId = taskIdForBranch(branch);
    if (!taskId) return;
    const known = this.byTask.get(taskId);
    if (known && (known.event.prNumber !== undefined || fields.prNumber === undefined)) return;
    const event: ForgeEvent = { ...this.base };
    if (event.action === undefined) delete event.action;
    if (event.ref === undefined) delete event.ref;
    if (fields.headSha !== undefined) event.headSha = fields.headSha;
    if (fields.prNumber !== undefined) event.prNumber = fields.prNumber;
    this.byTask.set(taskId, { taskId, workflowId: taskWorkflowId(taskId), event });
  }

  route(what: string): WebhookRoute {
    const targets = [...this.byTask.values()];
    return targets.length > 0 ? { outcome: 'signal', targets } : { outcome: 'ignored', reason: `${what}: no swarm/<task> branch` };
  }
}

/**
 * Which task workflows a delivery concerns, with the signal for each.
 *
 * Branches of another repository (a fork's PR, whose head could be named `swarm/<anything>`) are
 * not ours and are skipped. A `status` names every branch that *contains* its commit; only the
 * branches whose head it is count, or a status on `main` would wake every task branched from it.
 */
export function routeGithubEvent(eventName: string, payload: unknown, deliveryId: string, options: { intakeLabel?: string } = {}): WebhookRoute {
  if (eventName === 'ping') return { outcome: 'ping' };
  if (eventName === 'issues') return routeIssues(payload, options.intakeLabel);
  if (!isSignalled(eventName)) return { outcome: 'ignored', reason: `event ${eventName} is not used` };

  const parsed = PAYLOADS[eventName].safeParse(payload);
  if (!parsed.success) {
    const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
    return { outcome: 'invalid', reason: `not a ${eventName} payload (${where.join('; ')})` };
  }
  const repository = parsed.data.repository.full_name;
  const repoId = parsed.data.repository.id;
  const ours = (headRepoId: number | undefined) => headRepoId === repoId;

  switch (eventName) {
    case 'pull_request':
    case 'pull_request_review': {
      const { action, pull_request: pr } = parsed.data as z.infer<(typeof PAYLOADS)['pull_request']>;
      const targets = new Targets({ kind: eventName === 'pull_request' ? 'pull_request' : 'review', action, repository, deliveryId });
      if (ours(pr.head.repo?.id)) targets.add(pr.head.ref, { headSha: pr.head.sha, prNumber: pr.number });
      return targets.route(eventName);
    }
    case 'check_run': {
      const { action, check_run: run } = parsed.data as z.infer<(typeof PAYLOADS)['check_run']>;
      const targets = new Targets({ kind: 'check', action, repository, deliveryId });
      for (const pr of run.pull_requests) if (ours(pr.head.repo.id)) targets.add(pr.head.ref, { headSha: run.head_sha, prNumber: pr.number });
      // head_branch is null for a fork's push (GitHub's note on check_run).
      targets.add(run.check_suite?.head_branch, { headSha: run.head_sha });
      return targets.route(eventName);
    }
    case 'check_suite': {
      const { action, check_suite: suite } = parsed.data as z.infer<(typeof PAYLOADS)['check_suite']>;
      const targets = new Targets({ kind: 'check', action, repository, deliveryId });
      for (const pr of suite.pull_requests) if (ours(pr.head.repo.id)) targets.add(pr.head.ref, { headSha: suite.head_sha, prNumber: pr.number });
      targets.add(suite.head_branch, { headSha: suite.head_sha });
      return targets.route(eventName);
    }
    case 'push': {
      // GitHub sends no pull_request event when the base moves, only this.
      const { ref, after, deleted } = parsed.data as z.infer<(typeof PAYLOADS)['push']>;
      if (!ref.startsWith('refs/heads/')) return { outcome: 'ignored', reason: `push to ${ref}: not a branch` };
      const branch = ref.slice('refs/heads/'.length);
      if (taskIdForBranch(branch)) {
        // The task's own branch (someone else's commit, a deletion): that task looks again.
        const targets = new Targets({ kind: 'push', repository, deliveryId, ref: branch });
        targets.add(branch, deleted ? {} : { headSha: after });
        return targets.route('push');
      }
      if (deleted) return { outcome: 'ignored', reason: `push deleted ${branch}` };
      return { outcome: 'repository', repository, event: { kind: 'push', repository, deliveryId, ref: branch, headSha: after } };
    }
    case 'status': {
      const { sha, branches } = parsed.data as z.infer<(typeof PAYLOADS)['status']>;
      const targets = new Targets({ kind: 'status', repository, deliveryId });
      for (const branch of branches) if (branch.commit.sha === sha) targets.add(branch.name, { headSha: sha });
      return targets.route(eventName);
    }
  }
}
