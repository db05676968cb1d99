// A GitHub issue (or a local request file) mapped to a TaskSpec input. Pure: the webhook, the
// CLI's --from-issue and `swarm intake` share it, so one issue always maps to one spec (the
// idempotence of intake rests on that: same id, same spec ⇒ the existing run is reported).
import { PRIORITY_KEYS, TASK_PRIORITIES, TASK_SHAPES, type TaskPriority, type TaskShape, type TaskSpecInput } from '../task/spec.ts';
import { oneLine } from './text.ts';

export interface IssueInput {
  repository: string;
  number: number;
  url: string;
  title: string;
  body: string;
  labels: string[];
  author: string;
}

export type IssueMapping = { ok: true; spec: TaskSpecInput } | { ok: false; refusal: string };

const CHECKLIST_ITEM = /^\s*[-*]\s+\[[ xX]\]\s+(.+?)\s*$/;
const CRITERIA_HEADING = /^\s*#{1,6}\s*acceptance criteria\s*:?\s*$/i;
const BACKTICK_PATH = /`([A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\.[A-Za-z0-9]+|[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)+\/?)`/g;
const MAX_TITLE = 200;
const MAX_ID = 48;

export const NO_CHECKLIST_REFUSAL =
  'the issue has no acceptance criteria. Add a checklist to the body (lines such as `- [ ] the login page redirects to /home`), optionally under an "Acceptance criteria" heading, then label the issue again.';

/** Control characters other than tab and line breaks removed: they cannot travel through git, tmux or Postgres. */
const withoutControl = (text: string) => text.replace(/[^\P{Cc}\t\n\r]/gu, '');

/**
 * `<owner>-<name>-issue-<n>`: lowercase, runs of other characters as one "-", cut so the whole fits
 * 48. The owner is in it: two accounts' `app` repositories must not share a task.
 */
export function issueTaskId(repository: string, number: number): string {
  const suffix = `-issue-${number}`;
  const name = repository
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_ID - suffix.length)
    .replace(/-+$/, '');
  return `${name || 'repo'}${suffix}`;
}

/**
 * The shape: a label naming one (`ui` or `shape:ui`) wins; otherwise a rule on the text and
 * paths, checked in this order: UI files (.tsx/.jsx/.css/.html/.vue/.svelte) or the words
 * "ui", "page", "button", "screen" → ui; "bug", "fix", "error", "crash" (and their plurals or past forms), "broken" → bug;
 * "refactor", "rename", "clean up" → refactor; else backend.
 */
export function issueShape(labels: string[], text: string, paths: string[]): TaskShape {
  for (const label of labels) {
    const name = label.trim().toLowerCase().replace(/^shape:\s*/, '');
    if ((TASK_SHAPES as readonly string[]).includes(name)) return name as TaskShape;
  }
  const words = text.toLowerCase();
  if (paths.some((p) => /\.(tsx|jsx|css|scss|html|vue|svelte)$/.test(p)) || /\b(ui|page|button|screen)\b/.test(words)) return 'ui';
  if (/\b(bugs?|fix(es|ed)?|errors?|crash(es|ed)?|broken)\b/.test(words)) return 'bug';
  if (/\b(refactor|rename|clean up)\b/.test(words)) return 'refactor';
  return 'backend';
}

/**
 * The priority: a label `priority:<level>` (`priority: hotfix`, any case) with one of the spec's
 * levels; of several, the most urgent. Other `priority:` labels (a repository's own `priority:P1`)
 * are left alone: unset, the task is normal.
 */
export function issuePriority(labels: string[]): TaskPriority | undefined {
  const isLevel = (level: string | undefined): level is TaskPriority => (TASK_PRIORITIES as readonly (string | undefined)[]).includes(level);
  const levels = labels.map((label) => /^priority:\s*(.+)$/.exec(label.trim().toLowerCase())?.[1]?.trim()).filter(isLevel);
  return levels.sort((a, b) => PRIORITY_KEYS[a] - PRIORITY_KEYS[b])[0];
}

/** The issue as a spec input, or the refusal to post as a comment (no checklist ⇒ no invented criteria). */
export function issueToSpec(issue: IssueInput): IssueMapping {
  const mapped = textToSpec(issue);
  if (!mapped.ok) return mapped;
  return { ok: true, spec: { ...mapped.spec, id: issueTaskId(issue.repository, issue.number), issue: { repository: issue.repository, number: issue.number, url: issue.url } } };
}

/** A request file of the local forge (`.swarm/requests/<name>.md`, see client/intake.ts): its task id is `request-<name>`. */
export interface RequestInput extends Omit<IssueInput, 'number' | 'url' | 'author'> {
  name: string;
  author?: string;
}

/** `request-<name>`: the file's name as a slug, cut so the whole fits 48; undefined when nothing of it is a slug. */
export function requestTaskId(name: string): string | undefined {
  const slug = name.toLowerCase().replace(/\.md$/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, MAX_ID - 'request-'.length).replace(/-+$/, '');
  return slug ? `request-${slug}` : undefined;
}

export function requestToSpec(request: RequestInput): IssueMapping {
  const id = requestTaskId(request.name);
  if (!id) return { ok: false, refusal: `the request file "${request.name}" has no letter or digit in its name: name it like fix-login.md` };
  const mapped = textToSpec(request);
  return mapped.ok ? { ok: true, spec: { ...mapped.spec, id } } : { ok: false, refusal: `${request.name} has no acceptance criteria: add a checklist to it (lines such as \`- [ ] the login page redirects to /home\`) and commit it` };
}

/** What an issue and a request share: title, description, criteria from the checklist, shape, hinted files, requester. */
function textToSpec(input: Pick<IssueInput, 'repository' | 'title' | 'body' | 'labels'> & { author?: string }): IssueMapping {
  const body = withoutControl(input.body ?? '');
  const criteria: string[] = [];
  const description: string[] = [];
  for (const line of body.split(/\r?\n/)) {
    const item = CHECKLIST_ITEM.exec(line);
    if (item) criteria.push(item[1]!);
    else if (!CRITERIA_HEADING.test(line)) description.push(line);
  }
  if (criteria.length === 0) return { ok: false, refusal: NO_CHECKLIST_REFUSAL };

  const title = oneLine(withoutControl(input.title)).slice(0, MAX_TITLE).trim();
  const text = `${title}\n${body}`;
  const files = [...new Set([...body.matchAll(BACKTICK_PATH)].map((m) => m[1]!))].filter((p) => !p.startsWith('-') && !p.split('/').includes('..'));
  const priority = issuePriority(input.labels);
  return {
    ok: true,
    spec: {
      id: '',
      repository: input.repository,
      title,
      description: description.join('\n').trim() || title,
      acceptanceCriteria: criteria,
      shape: issueShape(input.labels, text, files),
      hints: { files },
      ...(priority ? { priority } : {}),
      ...(input.author ? { requestedBy: input.author } : {}),
    },
  };
}

/** GitHub's closing keyword for the task's issue: `#N` in the same repository, `owner/name#N` across. */
export function closesIssue(repository: string, issue: { repository: string; number: number }): string {
  return `Closes ${issue.repository === repository ? '' : issue.repository}#${issue.number}`;
}
