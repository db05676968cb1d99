// The playbook: what the next prompt gets for each class (Ralph Loop V2: never the same prompt
// again). Only the missing context, bounded by INJECTION_LIMIT:
//   test_regression     each failing test's name, file:line, assertion and source (the runner's
//                       code frame, or the lines around it from `sources`)
//   context_gap         the conflicting files and the base's commits, or what the agent could
//                       not find, with the hinted files to start from
//   missing_constraint  the violated rules, where they were broken
//   wrong_direction     the files it should not have touched, and the scope restated: explicit
//                       files, interfaces and expected tests
//   infrastructure      nothing: the same attempt runs again
import { fenced, headOf, shortSha } from '../text.ts';
import type { EvidenceClassification, LocatedFailure, TaskScope } from './classify.ts';

export const INJECTION_LIMIT = 4_000;
/** Items of one list shown: a prompt names a few failures, it never pastes all of them. */
const MAX_ITEMS = 5;
const SOURCE_RADIUS = 3;

export interface PlaybookInput {
  classification: EvidenceClassification;
  scope: TaskScope;
  /** Test files' text by repository path, read by an activity from the attempt's head. */
  sources?: Record<string, string>;
}

export function injection({ classification: c, scope, sources = {} }: PlaybookInput): string {
  switch (c.kind) {
    case 'infrastructure':
      return '';
    case 'test_regression':
      return bounded(['## Failing tests', 'These tests fail after the previous attempt. Make them pass without weakening, skipping or deleting them.', ...listed(c.failures, (f) => testItem(f, sources)), ...unparsed(c)]);
    case 'missing_constraint':
      return bounded(['## Violated rules', 'The previous attempt broke these rules. Fix exactly these and keep the rest of the work.', ...violations(c), ...unparsed(c)]);
    case 'context_gap':
      return bounded(['## Missing context', ...contextGap(c, scope)]);
    case 'wrong_direction':
      return bounded(['## Back to the scope', ...wrongDirection(c, scope)]);
  }
}

function testItem(f: LocatedFailure, sources: Record<string, string>): string {
  const where = f.file ? ` at \`${f.file}${f.line ? `:${f.line}` : ''}\`` : '';
  const source = f.file && f.line && sources[f.file] !== undefined ? excerpt(sources[f.file] ?? '', f.line) : f.frame;
  const parts = [`### ${f.test ? `\`${f.test}\`` : 'The test suite'}${where}`, `${f.message}${f.assertion ? `\n${f.assertion}` : ''}`];
  return [parts[0], fenced(parts[1] ?? ''), source ? `Source:\n\n${fenced(source)}` : ''].filter(Boolean).join('\n\n');
}

/** The numbered lines around `line`, the failing one marked as runners mark it. */
function excerpt(source: string, line: number): string {
  const lines = source.split('\n');
  const from = Math.max(1, line - SOURCE_RADIUS);
  const to = Math.min(lines.length, line + SOURCE_RADIUS);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${headOf(lines[n - 1] ?? '', 200)}`);
  return out.join('\n');
}

function violations(c: EvidenceClassification): string[] {
  if (c.failures.length > 0) {
    return [listed(c.failures, (f) => `- ${f.rule ? `\`${f.rule}\` ` : ''}at \`${f.file ?? '?'}${f.line ? `:${f.line}` : ''}\` (${f.runner}): ${f.message}${f.assertion ? ` — ${f.assertion.split('\n')[0]}` : ''}`).join('\n')];
  }
  return listed(c.details, (d) => fenced(headOf(d, 600)));
}

/** A check whose output no parser read: its tail, as the old prompt carried it. */
const unparsed = (c: EvidenceClassification) =>
  c.failures.length === 0 && c.details.length > 0 && c.kind === 'test_regression' ? [c.source === 'ci' ? 'The check printed (its end):' : 'What was reported:', ...listed(c.details, (d) => fenced(c.source === 'ci' ? d.slice(-600) : headOf(d, 600)))] : [];

function contextGap(c: EvidenceClassification, scope: TaskScope): string[] {
  if (c.conflict) {
    const commits = listed(c.conflict.baseCommits, (b) => `- \`${shortSha(b.sha)}\` ${b.subject}${b.files?.length ? ` (${b.files.slice(0, MAX_ITEMS).map((f) => `\`${f}\``).join(', ')})` : ''}`);
    return [
      'The base branch changed the same files after this branch started. Merge the base in, keep its changes, and redo yours on top of them.',
      `Conflicting files:\n${listed(c.conflict.files, (f) => `- \`${f}\``).join('\n')}`,
      commits.length > 0 ? `The base's commits since the branch point:\n${commits.join('\n')}` : '',
    ];
  }
  const missing = listed(c.missing, (m) => `- ${m.kind === 'file_not_found' ? 'not found' : m.kind === 'search_empty' ? 'searched, nothing found' : 'you said'}: ${m.target ? `\`${m.target}\` — ` : ''}${m.text}`);
  const start = scope.files.length > 0 ? `What exists to start from:\n${listed(scope.files, (f) => `- \`${f}\``).join('\n')}` : '';
  const interfaces = scope.interfaces.length > 0 ? `Interfaces to use:\n\n${scope.interfaces.slice(0, MAX_ITEMS).map(fenced).join('\n\n')}` : '';
  const said = missing.length === 0 ? listed(c.details, (d) => fenced(headOf(d, 600))) : [];
  return [missing.length > 0 ? `The previous attempt lacked context. It could not find:\n${missing.join('\n')}` : 'The previous attempt lacked context.', ...said, start, interfaces];
}

function wrongDirection(c: EvidenceClassification, scope: TaskScope): string[] {
  const far = c.scope?.far ?? [];
  return [
    far.length > 0 ? `The previous attempt changed files far outside the task's scope. Revert them:\n${listed(far, (f) => `- \`${f}\``).join('\n')}` : 'The previous attempt went in the wrong direction.',
    c.details.length > 0 ? `What was said about it:\n\n${c.details.slice(0, MAX_ITEMS).map((d) => fenced(headOf(d, 600))).join('\n\n')}` : '',
    scope.files.length + scope.interfaces.length + scope.expectedTests.length > 0 ? 'The scope, restated: change these and only these.' : '',
    scope.files.length > 0 ? `Files:\n${listed(scope.files, (f) => `- \`${f}\``, 20).join('\n')}` : '',
    scope.interfaces.length > 0 ? `Interfaces:\n\n${scope.interfaces.slice(0, MAX_ITEMS).map(fenced).join('\n\n')}` : '',
    scope.expectedTests.length > 0 ? `Tests expected to pass:\n${listed(scope.expectedTests, (t) => `- ${t}`, 20).join('\n')}` : '',
  ];
}

/** The first `max` items rendered, and a line saying how many more there were. */
function listed<T>(items: T[], render: (item: T) => string, max = MAX_ITEMS): string[] {
  const shown = items.slice(0, max).map(render);
  return items.length > max ? [...shown, `(and ${items.length - max} more)`] : shown;
}

/** Parts joined until the limit; a part that does not fit is left out whole (no cut fence). */
function bounded(parts: string[]): string {
  const out: string[] = [];
  let size = 0;
  let left = 0;
  for (const part of parts.filter(Boolean)) {
    if (size + part.length + 2 > INJECTION_LIMIT - 40) left++;
    else {
      out.push(part);
      size += part.length + 2;
    }
  }
  if (left > 0) out.push(`(${left} more left out)`);
  return `${out.join('\n\n')}\n`;
}
