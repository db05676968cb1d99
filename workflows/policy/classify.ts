// The runbook's failure classes, decided by a few deterministic rules over the evidence.
// Infrastructure faults never get here: Temporal retries those.
//
//   ci          one detail per failed check, its first line naming the check; a check named like
//               tests (test, tests, spec, e2e) -> test_regression;
//               other checks (lint, types, build) -> missing_constraint
//   conflict    -> context_gap: the agent lacked the base's newer changes
//   agent_exit  the log says it could not find / understand something -> context_gap;
//               otherwise exiting without commits -> wrong_direction
//   review      a critical finding that says a test fails or breaks -> test_regression;
//               else missing_constraint
//   gates       -> missing_constraint (e.g. UI changes without screenshot evidence)
//   human       -> wrong_direction: the operator's guidance corrects the course
import type { ClassifiedFailure, FailureEvidence, FailureKind } from '../task/types.ts';

const TEST_CHECK = /(^|[^a-z])(tests?|specs?|e2e)([^a-z]|$)/i;
/** An agent saying it lacked something (shared with the evidence classifier's transcript reading). */
export const LACKED_CONTEXT = /\b(could not|couldn['’]t|cannot|can not|can['’]t|unable to) (find|locate|understand|determine|tell)\b|\bno such file\b/i;
/** "test" and "fail"/"break" in one sentence; paths are removed first ("test/x.ts: fails on null" is no test). */
const FAILING_TEST = /\btests?\b[^.!?\n]*\b(fail|break|broke)|\b(fail|break|broke)\w*\b[^.!?\n]*\btests?\b/i;
const PATH_LIKE = /\S*(\/|\.\w)\S*/g;

export function classifyFailure(evidence: FailureEvidence): ClassifiedFailure {
  return { kind: kindOf(evidence), evidence };
}

function kindOf({ source, details }: FailureEvidence): FailureKind {
  switch (source) {
    case 'ci':
      return details.some((d) => TEST_CHECK.test(headline(d))) ? 'test_regression' : 'missing_constraint';
    case 'conflict':
      return 'context_gap';
    case 'agent_exit':
      return details.some((d) => LACKED_CONTEXT.test(d)) ? 'context_gap' : 'wrong_direction';
    case 'review':
      return details.some((d) => FAILING_TEST.test(d.replace(PATH_LIKE, ''))) ? 'test_regression' : 'missing_constraint';
    case 'gates':
      return 'missing_constraint';
    case 'human':
      return 'wrong_direction';
  }
}

const headline = (detail: string) => detail.split('\n', 1)[0] ?? '';
