import { describe, expect, it } from '@jest/globals';
import { classifyFailure } from '../../workflows/policy/classify.ts';
import { policyGateEvidence } from '../../workflows/policy/anti-gaming.ts';
import type { PolicyGateResult } from '../../workflows/task/types.ts';

const result = (hits: PolicyGateResult['hits'], omittedHits = 0): PolicyGateResult => ({
  status: hits.length > 0 ? 'failed' : 'passed',
  mergeBaseSha: 'b'.repeat(40),
  headSha: 'a'.repeat(40),
  hits,
  omittedHits,
});

describe('policyGateEvidence', () => {
  it('is nothing for a passed gate', () => expect(policyGateEvidence(result([]))).toBeUndefined());

  it('groups the hits by rule, each as file:line, and classifies as missing_constraint', () => {
    const evidence = policyGateEvidence(
      result(
        [
          { rule: 'secret', file: 'src/config.js', line: 3, detail: "github_token: token: 'ghp_…[redacted 40 chars]'," },
          { rule: 'test_disabled', file: 'test/a.test.js', line: 4, detail: "a skipped, focused or todo JS test: it.skip('adds', () => {" },
          { rule: 'test_removed', file: 'test/b.test.js', detail: 'test file deleted' },
          { rule: 'test_disabled', file: 'test/c.test.js', line: 9, detail: 'a skipped pytest test: @pytest.mark.skip' },
        ],
        2,
      ),
    )!;
    expect(evidence.summary).toBe("The change at aaaaaaaaaaaa weakens the repository's gates (secrets added: 1, tests removed: 1, tests disabled: 2), 2 more hits not listed: undo exactly what is listed.");
    expect(evidence.details).toEqual([
      "secrets added: remove the secret from the change (read it from the environment) — it must be considered leaked\nsrc/config.js:3: github_token: token: 'ghp_…[redacted 40 chars]',",
      'tests removed: restore the deleted tests (move a test only to a path where it still runs)\ntest/b.test.js: test file deleted',
      "tests disabled: remove the added skip/only/todo/xfail markers and make the tests pass instead\ntest/a.test.js:4: a skipped, focused or todo JS test: it.skip('adds', () => {\ntest/c.test.js:9: a skipped pytest test: @pytest.mark.skip",
    ]);
    expect(evidence.files).toEqual(['src/config.js', 'test/a.test.js', 'test/b.test.js', 'test/c.test.js']);
    expect(classifyFailure(evidence).kind).toBe('missing_constraint');
  });
});
