// The evidence plane's Definition of Done: the runbook's list in its order, one review item per
// reviewer (its <name>ReviewPassed), lint and the policy gate as items of their own, each item
// pointing at its evidence; the acceptance criteria mapped to what covers them.
import { describe, expect, it } from '@jest/globals';
import { criteriaCoverage } from '../../workflows/policy/criteria.ts';
import { contractChecks, definitionOfDone, type DodInput, type EvidenceInput } from '../../workflows/policy/definition-of-done.ts';
import { nextRound } from '../../workflows/policy/review-rounds.ts';
import type { CiCheck, PolicyGateResult, PullRequest, ReviewerResult, UiCapture } from '../../workflows/task/types.ts';

const HEAD = 'a'.repeat(40);
const pr: PullRequest = { number: 7, branch: 'swarm/t', base: 'main', headSha: HEAD, state: 'open', title: 't', body: '', url: 'local://pr/7' };
const check = (name: string, status: CiCheck['status'] = 'passed', outputTail = ''): CiCheck => ({ name, status, exitCode: status === 'passed' ? 0 : 1, durationMs: 10, outputFile: `/ci/${name}.log`, outputTail });
const reviewer = (name: string, over: Partial<ReviewerResult> = {}): ReviewerResult => ({ reviewer: name, status: 'ok', findings: [], ...over });
const gate: PolicyGateResult = { status: 'passed', mergeBaseSha: 'c'.repeat(40), headSha: HEAD, hits: [], omittedHits: 0 };
const CRITERIA = ['GET /users/:id answers 404 for an unknown id', 'the /login page shows the new button'];
const capture: UiCapture = {
  status: 'captured',
  headSha: HEAD,
  baseSha: 'c'.repeat(40),
  dir: '/state/evidence/t/a',
  routes: [{ route: '/login', before: '/e/login.before.png', after: '/e/login.after.png', diff: '/e/login.diff.png', diffPixels: 420, diffRatio: 0.01, width: 800, height: 600, httpStatus: { before: 200, after: 200 }, sha256: { before: 'x', after: 'y', diff: 'z' } }],
} as unknown as UiCapture;

const evidence = (over: Partial<EvidenceInput> = {}): EvidenceInput => ({ acceptanceCriteria: CRITERIA, policyGate: gate, uiCapture: capture, block: ['critical'], ...over });
const green = (over: Partial<DodInput> = {}): DodInput => ({
  pr,
  mergeability: { mergeable: true, behindBy: 0, conflicts: [] },
  ci: { headSha: HEAD, status: 'passed', checks: [check('lint'), check('unit', 'passed', 'ok 3 - AC1: unknown id answers 404\nall passed')] },
  ciConfigured: true,
  review: { headSha: HEAD, results: [reviewer('codex'), reviewer('claude'), reviewer('gemini')] },
  uiEvidence: { headSha: HEAD, required: true, satisfied: true, detail: 'captured' },
  approved: false,
  evidence: evidence(),
  ...over,
});

describe("the runbook's Definition of Done", () => {
  it("lists the runbook's items in its order, one review gate per reviewer, each with its contract check and evidence", () => {
    const dod = definitionOfDone(green());
    expect(dod.items.map((i) => i.check ?? i.key)).toEqual([
      'prCreated', 'branchSynced', 'forge_rules', 'ciPassed', 'lintPassed', 'codexReviewPassed', 'claudeReviewPassed', 'geminiReviewPassed', 'screenshotsIncluded', 'policyChecksPassed', 'humanApproved',
    ]);
    expect(dod.readyForApproval).toBe(true);
    expect(dod.items.find((i) => i.check === 'prCreated')!.evidence).toEqual([{ kind: 'pr', ref: 'local://pr/7' }]);
    expect(dod.items.find((i) => i.check === 'lintPassed')!.evidence).toEqual([{ kind: 'ci', ref: 'lint: /ci/lint.log' }]);
    expect(dod.items.find((i) => i.check === 'screenshotsIncluded')!.evidence!.map((e) => e.ref)).toEqual(['/login after: /e/login.after.png', '/login diff (420 px): /e/login.diff.png']);
    expect(dod.items.find((i) => i.check === 'policyChecksPassed')!.evidence).toEqual([{ kind: 'policy', ref: `verification:policy:${HEAD}` }]);
  });

  it('fails only the review gate of the reviewer whose finding blocks, and of one that failed', () => {
    const sql = { severity: 'critical' as const, file: 'src/users.ts', line: 3, message: 'SQL injection' };
    const review = { headSha: HEAD, results: [reviewer('codex', { findings: [sql] }), reviewer('claude'), reviewer('gemini', { status: 'failed', error: 'rate limited' })] };
    const dod = definitionOfDone(green({ review, evidence: evidence({ reviewRounds: nextRound(undefined, review, ['critical']) }) }));
    expect(contractChecks(dod)).toMatchObject({ codexReviewPassed: false, claudeReviewPassed: true, geminiReviewPassed: false });
    expect(dod.items.find((i) => i.reviewer === 'codex')!.detail).toBe('1 blocking finding(s): src/users.ts:3');
    expect(dod.readyForApproval).toBe(false);
  });

  it('fails lint on a failed lint check, and the policy item on a gate hit', () => {
    const ci = { headSha: HEAD, status: 'failed' as const, checks: [check('lint', 'failed'), check('unit')] };
    expect(definitionOfDone(green({ ci })).items.find((i) => i.key === 'lint_passed')).toMatchObject({ ok: false, detail: 'failed: lint' });
    const hit: PolicyGateResult = { ...gate, status: 'failed', hits: [{ rule: 'test_disabled', file: 'a.test.ts', line: 4, detail: 'it.skip' }] };
    expect(definitionOfDone(green({ evidence: evidence({ policyGate: hit }) })).items.find((i) => i.key === 'policy_checks')).toMatchObject({ ok: false, detail: '1 hit(s): test_disabled a.test.ts:4' });
    expect(definitionOfDone(green({ evidence: evidence({ policyGate: undefined }) })).readyForApproval).toBe(false);
  });

  it('gives the terminal contract its checks, the human approval with who gave it', () => {
    const dod = definitionOfDone(green({ approved: true, evidence: evidence({ approvedBy: 'alice' }) }));
    expect(contractChecks(dod)).toEqual({ prCreated: true, branchSynced: true, ciPassed: true, lintPassed: true, codexReviewPassed: true, claudeReviewPassed: true, geminiReviewPassed: true, screenshotsIncluded: true, policyChecksPassed: true, humanApproved: true });
    expect(dod.items.at(-1)!.evidence).toEqual([{ kind: 'approval', ref: 'alice' }]);
  });
});

describe('acceptance criteria to evidence', () => {
  it('covers a criterion by a passing test that names its id, another by a screenshot of the route it names', () => {
    const [first, second] = definitionOfDone(green()).criteria!;
    expect(first).toMatchObject({ id: 'AC1', covered: true, evidence: [{ kind: 'test', ref: 'unit: ok 3 - AC1: unknown id answers 404' }], reviewedBy: ['codex', 'claude', 'gemini'] });
    expect(second).toMatchObject({ id: 'AC2', covered: true, evidence: [{ kind: 'screenshot', ref: '/login: /e/login.after.png' }] });
  });

  it('says a criterion is not covered when nothing names it, and who disputed it', () => {
    const [first] = criteriaCoverage({
      criteria: CRITERIA,
      ci: { headSha: HEAD, status: 'passed', checks: [check('unit', 'passed', 'all 12 tests passed')] },
      review: { headSha: HEAD, results: [reviewer('codex', { findings: [{ severity: 'major', file: 'src/users.ts', line: 9, message: 'AC1 is not met: an unknown id answers 500' }] }), reviewer('claude')] },
    });
    expect(first).toEqual({ id: 'AC1', text: CRITERIA[0], covered: false, evidence: [], reviewedBy: ['claude'], disputedBy: ['codex'] });
  });

  it('does not count a failing test that names the criterion', () => {
    const [first] = criteriaCoverage({ criteria: CRITERIA, ci: { headSha: HEAD, status: 'failed', checks: [check('unit', 'failed', 'not ok 3 - AC1: unknown id answers 404')] } });
    expect(first!.covered).toBe(false);
  });
});
