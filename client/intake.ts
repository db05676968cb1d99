// The local forge's intake: a request is a markdown file committed under `.swarm/requests/` on the
// repository's base branch (its title the first `# ` heading, its criteria a checklist, optional
// frontmatter `labels:`, `requestedBy:` and `agent:`), mapped as a GitHub issue is (workflows/policy/issue-spec.ts).
// Idempotent on the request: a request whose task id was ever started is reported, never started
// again (a failed task is retried by a human, not by the next poll).
import { asList, asText, splitFrontmatter } from '../activities/store/context/markdown.ts';
import { fileAt, git, revParse } from '../activities/git.ts';
import { requestToSpec } from '../workflows/policy/issue-spec.ts';
import type { SwarmClient } from './swarm-client.ts';

export const REQUESTS_DIR = '.swarm/requests';

export type IntakeOutcome =
  | { file: string; taskId: string; outcome: 'started'; workflowId: string }
  /** Started before (by an earlier intake, or by hand): its latest run's status. */
  | { file: string; taskId: string; outcome: 'known'; status: string }
  /** The request cannot become a task: what to fix in it. */
  | { file: string; taskId?: string; outcome: 'refused'; reason: string };

/** The request files committed on `base`, by repository path. */
export async function committedRequests(repository: string, base: string): Promise<Array<{ file: string; text: string }>> {
  const commit = await revParse(repository, base);
  if (!commit) throw new Error(`${repository} has no branch "${base}": pass --base with the branch the requests are committed on`);
  const listed = await git(repository, ['ls-tree', '-z', '--name-only', commit, `${REQUESTS_DIR}/`]);
  const files = listed.stdout.split('\0').filter((f) => f.endsWith('.md')).sort();
  return Promise.all(files.map(async (file) => ({ file, text: (await fileAt(repository, commit, file)) ?? '' })));
}

/** One request file as a task spec input, or why it cannot be one. */
export function requestSpec(repository: string, file: string, text: string) {
  const split = splitFrontmatter(text);
  if ('problem' in split) return { ok: false as const, refusal: `${file}: ${split.problem}` };
  const heading = /^#[ \t]+(.+)$/m.exec(split.content);
  if (!heading) return { ok: false as const, refusal: `${file}: no title; start it with a "# <title>" line` };
  const body = split.content.replace(heading[0], '');
  const name = file.slice(file.lastIndexOf('/') + 1);
  const mapped = requestToSpec({ repository, name, title: heading[1]!, body, labels: asList(split.meta.labels) ?? [], author: asText(split.meta.requestedBy) });
  const agent = asText(split.meta.agent);
  return mapped.ok && agent ? { ...mapped, spec: { ...mapped.spec, agent } } : mapped;
}

/** Starts a task for each committed request not started before. */
export async function intakeRequests(client: SwarmClient, repository: string, base = 'main'): Promise<IntakeOutcome[]> {
  const outcomes: IntakeOutcome[] = [];
  for (const { file, text } of await committedRequests(repository, base)) {
    const mapped = requestSpec(repository, file, text);
    if (!mapped.ok) {
      outcomes.push({ file, outcome: 'refused', reason: mapped.refusal });
      continue;
    }
    const spec = { ...mapped.spec, baseBranch: base };
    const status = await client.lastRunStatus(spec.id);
    if (status) {
      outcomes.push({ file, taskId: spec.id, outcome: 'known', status: status.toLowerCase() });
      continue;
    }
    try {
      const started = await client.startTask(spec);
      outcomes.push({ file, taskId: spec.id, outcome: 'started', workflowId: started.workflowId });
    } catch (err) {
      // An invalid spec or an id another start took: this request waits for its author, the others go on.
      outcomes.push({ file, taskId: spec.id, outcome: 'refused', reason: (err as Error).message });
    }
  }
  return outcomes;
}
