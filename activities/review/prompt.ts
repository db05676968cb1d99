// What a CLI reviewer is asked: its focus, the task's acceptance criteria, the CI results and the
// diff, and the JSON schema its reply must follow (the same FindingsReplySchema every reply is
// validated by, so the model is asked for exactly what is accepted).
import { criterionId } from '../../workflows/policy/criteria.ts';
import { z } from 'zod';
import { FindingsReplySchema, type REVIEW_FOCUSES } from '../../workflows/task/types.ts';

export interface CiResultForReview {
  name: string;
  status: string;
  /** The end of its output, where a failure usually says why. */
  outputTail: string;
}

export interface ReviewMaterial {
  diff: string;
  acceptanceCriteria: string[];
  ci: CiResultForReview[];
}

/** The reply's JSON schema (strict: every object closes its properties, as OpenAI's strict json_schema needs). */
export const FINDINGS_JSON_SCHEMA: object = (() => {
  const { $schema: _draft, ...schema } = z.toJSONSchema(FindingsReplySchema, { io: 'output' });
  return schema;
})();

const FOCUS_BRIEFS: Record<(typeof REVIEW_FOCUSES)[number], string> = {
  'edge-cases': 'edge cases: empty, huge and malformed inputs, boundaries, concurrency, error paths and what happens when a dependency fails',
  'security-scalability': 'security and scalability: injection, secrets, authorization, untrusted input, resource use that grows with load or data',
  correctness: 'correctness: does the change do what the acceptance criteria ask, without breaking what worked; logic errors, wrong assumptions, missing tests',
};

const focusBrief = (focus: string) => (focus in FOCUS_BRIEFS ? FOCUS_BRIEFS[focus as keyof typeof FOCUS_BRIEFS] : focus);

export function reviewPrompt(focus: string, { diff, acceptanceCriteria, ci }: ReviewMaterial): string {
  const criteria = acceptanceCriteria.length > 0 ? acceptanceCriteria.map((c, i) => `- ${criterionId(i)}: ${c}`).join('\n') : '(none given)';
  const checks = ci.length > 0 ? ci.map((c) => `- ${c.name}: ${c.status}${c.outputTail ? `\n  output tail:\n${indent(c.outputTail)}` : ''}`).join('\n') : '(no CI results)';
  return [
    'You are a code reviewer of a pull request. The current directory is a read-only checkout of its head:',
    'read any file you need for context; do not try to change anything.',
    '',
    `Your focus (review:${focus}): ${focusBrief(focus)}.`,
    '',
    'Acceptance criteria of the task (when the change does not meet one, say so in a finding that cites its id):',
    criteria,
    '',
    'CI results at this head:',
    checks,
    '',
    'Reply with JSON only, following this schema: {"findings": [...]}, one finding per problem, with',
    'the file (path relative to the repository root), the line in the new version (0 when not about',
    'one line), a severity ("critical" blocks the merge, "major" should be fixed, "minor" is a nit)',
    'and a message saying what is wrong and how to fix it. No problems: {"findings": []}.',
    JSON.stringify(FINDINGS_JSON_SCHEMA),
    '',
    'The diff:',
    '```diff',
    diff,
    '```',
    '',
  ].join('\n');
}

const indent = (text: string) => text.split('\n').map((line) => `    ${line}`).join('\n');
