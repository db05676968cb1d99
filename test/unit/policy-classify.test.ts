import { describe, expect, it } from '@jest/globals';
import { classifyFailure } from '../../workflows/policy/classify.ts';
import type { FailureEvidence, FailureKind } from '../../workflows/task/types.ts';

const kindOf = (evidence: Partial<FailureEvidence> & Pick<FailureEvidence, 'source'>): FailureKind =>
  classifyFailure({ summary: 'something failed', details: [], files: [], ...evidence }).kind;

describe('classifyFailure', () => {
  it('keeps the evidence it classified', () => {
    const evidence: FailureEvidence = { source: 'conflict', summary: 'merging main conflicts', details: [], files: ['src/a.ts'] };
    expect(classifyFailure(evidence)).toEqual({ kind: 'context_gap', evidence });
  });

  it('calls a failed test-like CI check a test regression, going by the check name on the first line', () => {
    for (const name of ['test', 'unit-tests', 'e2e', 'spec', 'integration tests']) {
      expect(kindOf({ source: 'ci', details: [`${name}:\nExpected 2, received 3`] })).toBe('test_regression');
    }
  });

  it('calls other failed CI checks (lint, types) a missing constraint, whatever their output says', () => {
    expect(kindOf({ source: 'ci', details: ['lint:\ntest/unit/a.test.ts: no-unused-vars'] })).toBe('missing_constraint');
    expect(kindOf({ source: 'ci', details: ['typecheck:\nerror TS2322', 'latest-build:\nfailed'] })).toBe('missing_constraint');
    expect(kindOf({ source: 'ci', details: ['lint:\nok', 'tests:\n1 failed'] })).toBe('test_regression');
  });

  it('calls a conflict with the base a context gap', () => {
    expect(kindOf({ source: 'conflict', files: ['src/a.ts'] })).toBe('context_gap');
  });

  it('calls an agent that exited without commits a wrong direction, unless its log says it lacked something', () => {
    expect(kindOf({ source: 'agent_exit', details: ['Refactored the module.\nDone.'] })).toBe('wrong_direction');
    expect(kindOf({ source: 'agent_exit', details: ['Searching...\nI could not find the TemplateStore interface.'] })).toBe('context_gap');
    expect(kindOf({ source: 'agent_exit', details: ["I couldn't understand which API version to use"] })).toBe('context_gap');
    expect(kindOf({ source: 'agent_exit', details: ['cat: src/types/template.ts: No such file or directory'] })).toBe('context_gap');
  });

  it('calls a critical review finding a missing constraint, unless it names a failing test', () => {
    expect(kindOf({ source: 'review', details: ['src/db.ts:12 SQL built by string concatenation: injection'] })).toBe('missing_constraint');
    expect(kindOf({ source: 'review', details: ['src/login.ts:40 this change breaks the login redirect test'] })).toBe('test_regression');
    expect(kindOf({ source: 'review', details: ['src/a.ts:3 the unit tests for parse() now fail on empty input'] })).toBe('test_regression');
  });

  it('does not read a test file path as a failing test', () => {
    expect(kindOf({ source: 'review', details: ['test/unit/parse.test.ts:9 fails to close the file handle'] })).toBe('missing_constraint');
  });

  it('calls a policy gate a missing constraint and human guidance a course correction', () => {
    expect(kindOf({ source: 'gates', summary: 'UI changes need screenshot evidence' })).toBe('missing_constraint');
    expect(kindOf({ source: 'human', summary: 'use the v2 API' })).toBe('wrong_direction');
  });
});
