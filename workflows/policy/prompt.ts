// Step 2: the constrained execution prompt. The agent gets the code task only (title, goal,
// acceptance criteria, hints, constraints) and, on a retry, the narrowed evidence of the last
// failure — never the whole failure history, never whole logs (the runbook's retry strategy).
import { criterionId } from './criteria.ts';
import type { TaskSpec } from '../task/spec.ts';
import type { ClassifiedFailure, FailureEvidence, FailureKind, LearnedHint } from '../task/types.ts';
import { fenced, headOf, oneLine, tailOf } from './text.ts';

export interface PromptInput {
  spec: TaskSpec;
  agent: string;
  /** 1-based. */
  attempt: number;
  /** Every failure so far, oldest first; only the last one reaches the prompt. */
  failures: ClassifiedFailure[];
  /** A concept another agent wrote and committed for this task (a handoff route). */
  concept?: { file: string; by: string };
  /** The vault's notes selected for this prompt: notes' text, or only the constraint of one above the agents' tier. */
  businessContext?: PromptContextNote[];
  /** Retries of other tasks that fixed the same class of failure on the same paths (the retry memory). */
  learned?: LearnedHint[];
}

export interface PromptContextNote {
  title: string;
  kind: string;
  as: 'note' | 'constraint';
  text: string;
}

/** Evidence caps, whatever the evidence carried: a few excerpts, never whole logs. */
export const EVIDENCE_LIMITS = { summaryChars: 600, details: 5, detailChars: 1_500, files: 20 } as const;

/** Caps one excerpt: command output keeps its end (where the error is), prose its beginning. */
function clipDetail(source: FailureEvidence['source'], text: string, max: number): string {
  return source === 'ci' || source === 'agent_exit' ? tailOf(text, max) : headOf(text, max);
}

/** Caps any evidence, whoever built it. */
function narrow(evidence: FailureEvidence): FailureEvidence {
  return {
    source: evidence.source,
    summary: headOf(evidence.summary, EVIDENCE_LIMITS.summaryChars),
    details: evidence.details.slice(0, EVIDENCE_LIMITS.details).map((d) => clipDetail(evidence.source, d, EVIDENCE_LIMITS.detailChars)),
    files: evidence.files.slice(0, EVIDENCE_LIMITS.files),
  };
}

const CONSTRAINTS = [
  '## Constraints',
  '',
  '- Work only in this worktree (your current directory) and on its current branch: do not touch files outside it and do not switch branches.',
  '- Commit your work with git; only committed changes count.',
  "- Run the repository's tests before you finish, and make them pass.",
  '- Do not weaken, skip, disable or delete tests to make them pass.',
  '- Stay within this task: no unrelated changes.',
].join('\n');

/** The business context's constraints (distilled from notes the agent may not read), for the end of "## Constraints". */
function contextConstraints(context: PromptContextNote[] = []): string {
  return context.filter((n) => n.as === 'constraint').map((n) => `\n- ${oneLine(n.text)}`).join('');
}

/** The notes whose text the agent may read, each fenced so that its own headings stay inside it. */
function businessContextSection(context: PromptContextNote[] = []): string {
  const notes = context.filter((n) => n.as === 'note');
  if (notes.length === 0) return '';
  const intro = 'What the orchestrator knows that bears on this task, from its notes. Follow it where it applies; it does not widen the task.';
  return ['## Business context', intro, ...notes.flatMap((n) => [`### ${oneLine(n.title)} (${n.kind})`, fenced(n.text)])].join('\n\n');
}

export function synthesizePrompt({ spec, agent, attempt, failures, concept, businessContext, learned = [] }: PromptInput): string {
  const last = attempt > 1 ? failures.at(-1) : undefined;
  const handoff = concept && `## Concept\n\nA concept for this task, written by ${concept.by}, is committed at \`${concept.file}\`. Read it first and implement it; keep the file.`;
  const failed = last && (last.playbook?.injection ? playbookFailure(last) : previousFailure(last, spec));
  const sections = [header(spec, agent, attempt), goal(spec), handoff, businessContextSection(businessContext), hints(spec), CONSTRAINTS + contextConstraints(businessContext), failed, ...(last ? learned.map(learnedHint) : [])];
  return `${sections.filter(Boolean).join('\n\n')}\n`;
}

/** The first half of a handoff route: a concept to implement, not the implementation. */
export function conceptPrompt({ spec, agent, file, businessContext }: { spec: TaskSpec; agent: string; file: string; businessContext?: PromptContextNote[] }): string {
  const ask = [
    '## Your part: the concept',
    '',
    `Another agent will implement this task from your concept. Write the concept as Markdown in \`${file}\` and commit that file with git: the UI or behaviour to build, the components and files to change, states and edge cases, and how the acceptance criteria will be checked.`,
    '',
    'Do not implement it and change no other file.',
  ].join('\n');
  const distilled = contextConstraints(businessContext) && `## Constraints\n${contextConstraints(businessContext)}`;
  return `${[header(spec, agent, 1), goal(spec), ask, businessContextSection(businessContext), hints(spec), distilled].filter(Boolean).join('\n\n')}\n`;
}

function header(spec: TaskSpec, agent: string, attempt: number): string {
  return `# ${oneLine(spec.title)}\n\nTask \`${spec.id}\`, attempt ${attempt}, agent ${agent}.`;
}

function goal(spec: TaskSpec): string {
  const criteria = spec.acceptanceCriteria.map((c, i) => `- ${criterionId(i)}: ${c}`).join('\n');
  return `## Goal\n\n${spec.description}\n\n## Acceptance criteria\n\n${criteria}\n\nName the test that proves each criterion with its id (e.g. a test titled "${criterionId(0)}: …"), so CI's output shows what covers it.`;
}

function hints({ hints: h }: TaskSpec): string {
  const parts = [
    h.files.length > 0 && `Files to start from:\n${h.files.map((f) => `- \`${f}\``).join('\n')}`,
    h.interfaces.length > 0 && `Interfaces to use:\n\n${h.interfaces.map(fenced).join('\n\n')}`,
    h.expectedTests.length > 0 && `Tests expected to pass:\n${h.expectedTests.map((t) => `- ${t}`).join('\n')}`,
  ].filter(Boolean);
  return parts.length > 0 ? `## Hints\n\n${parts.join('\n\n')}` : '';
}

/** What each kind asks of the next attempt (the runbook: inject only the missing context). */
const REMEDY: Record<FailureKind, (spec: TaskSpec) => string> = {
  context_gap: () => 'The previous attempt lacked context. Read what it was missing, below, before you change anything.',
  wrong_direction: (spec) => `The previous attempt went in the wrong direction. The goal, restated: ${oneLine(spec.title)} — meet the acceptance criteria above, nothing else.`,
  missing_constraint: () => 'The previous attempt violated a constraint. Fix exactly this and keep the rest of the work.',
  test_regression: () => 'The previous attempt left checks failing. Make them pass without weakening or skipping any test.',
};

function previousFailure(failure: ClassifiedFailure, spec: TaskSpec): string {
  const { summary, details, files } = narrow(failure.evidence);
  const parts = [
    '## What went wrong in the previous attempt',
    REMEDY[failure.kind](spec),
    `Feedback: ${summary}`,
    files.length > 0 && `Files involved:\n${files.map((f) => `- \`${f}\``).join('\n')}`,
    details.length > 0 && 'Evidence (excerpts):',
    ...details.map(fenced),
  ];
  return parts.filter(Boolean).join('\n\n');
}

/** The playbook's injection for the failure's class (only the missing context), instead of REMEDY and the excerpts. */
function playbookFailure(failure: ClassifiedFailure): string {
  return ['## What went wrong in the previous attempt', `Feedback: ${headOf(failure.evidence.summary, EVIDENCE_LIMITS.summaryChars)}`, failure.playbook!.injection.trimEnd()].join('\n\n');
}

/** The longest learned hint a prompt carries: a reminder, not a second failure report. */
const LEARNED_CHARS = 1_500;

/** A hint that fixed the same class of failure on the same paths in another task, marked as learned. */
function learnedHint(hint: LearnedHint): string {
  const said = headOf(hint.injection.replace(/^(#+) /gm, '#$1 '), LEARNED_CHARS).trimEnd();
  return [`## Learned from task ${hint.taskId}`, `Task \`${hint.taskId}\` failed the same way (${hint.kind}) on ${hint.paths.map((p) => `\`${p}\``).join(', ')}; its next attempt, told this, fixed it:`, said].join('\n\n');
}

/**
 * The operator's redirects that no run received (sent while no agent ran, or while its run ended),
 * for the prompt (or resume message) of the next run.
 */
export function carriedRedirects(messages: string[]): string {
  return ['## Messages from the operator', 'The operator sent these while no run of yours could receive them. Follow them:', ...messages.map(fenced)].join('\n\n');
}
