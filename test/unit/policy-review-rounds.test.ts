// Review rounds: findings merged across reviewers and fingerprinted, so a fixed finding is gone at
// the next head, a repeated one counts once, and the rounds with blocking findings are bounded.
import { describe, expect, it } from '@jest/globals';
import { blockingFindings, fingerprint, mergeFindings, nextRound, roundsExhausted } from '../../workflows/policy/review-rounds.ts';
import type { Finding, ReviewVerdict } from '../../workflows/task/types.ts';

const SQL: Finding = { severity: 'critical', file: 'src/users.ts', line: 12, message: 'SQL built by string concatenation on line 12: use a bound parameter' };
const NAMING: Finding = { severity: 'minor', file: 'src/users.ts', line: 30, message: 'findUser should be getUser' };
const verdict = (headSha: string, byReviewer: Record<string, Finding[]>): ReviewVerdict => ({
  headSha,
  results: Object.entries(byReviewer).map(([reviewer, findings]) => ({ reviewer, status: 'ok', findings })),
});
const BLOCK = ['critical' as const];

describe('fingerprint', () => {
  it('stays the same when the line moves and the message quotes another number; changes with the file or the problem', () => {
    const moved = { ...SQL, line: 19, message: 'SQL built by string  concatenation on line 19: use a bound parameter' };
    expect(fingerprint(moved)).toBe(fingerprint(SQL));
    expect(fingerprint({ ...SQL, file: 'src/orders.ts' })).not.toBe(fingerprint(SQL));
    expect(fingerprint({ ...SQL, message: 'the id is not validated' })).not.toBe(fingerprint(SQL));
    expect(fingerprint(SQL)).toMatch(/^src\/users\.ts#[0-9a-f]{8}$/);
  });
});

describe('mergeFindings', () => {
  it('makes one finding of reports about the same file and line, keeping every reviewer and the highest severity', () => {
    const merged = mergeFindings(verdict('a'.repeat(40), { codex: [{ ...SQL, severity: 'major' }], claude: [SQL], gemini: [NAMING] }));
    expect(merged).toHaveLength(2);
    expect(merged[0]).toMatchObject({ file: 'src/users.ts', line: 12, severity: 'critical', reviewers: ['codex', 'claude'] });
    expect(merged[0]!.reports.map((r) => r.reviewer)).toEqual(['codex', 'claude']);
    expect(merged[1]).toMatchObject({ line: 30, reviewers: ['gemini'] });
  });
});

describe('nextRound', () => {
  it('closes a finding fixed at the next head: it is no longer open or blocking', () => {
    const first = nextRound(undefined, verdict('a'.repeat(40), { codex: [SQL, NAMING] }), BLOCK);
    expect(first).toMatchObject({ blockingRounds: 1, fixed: [] });
    expect(first.new).toHaveLength(2);
    const second = nextRound(first, verdict('b'.repeat(40), { codex: [NAMING] }), BLOCK);
    expect(second.open.map((f) => f.line)).toEqual([30]);
    expect(second.fixed).toEqual([fingerprint(SQL)]);
    expect(second.new).toEqual([]);
    expect(blockingFindings(second, BLOCK)).toEqual([]);
    expect(second.blockingRounds).toBe(1);
  });

  it('counts a finding still present at a new head once, as not new, and the round as a second blocking one', () => {
    const first = nextRound(undefined, verdict('a'.repeat(40), { codex: [SQL] }), BLOCK);
    const second = nextRound(first, verdict('b'.repeat(40), { codex: [{ ...SQL, line: 15 }], claude: [{ ...SQL, line: 15 }] }), BLOCK);
    expect(second.open).toHaveLength(1);
    expect(second.new).toEqual([]);
    expect(second.blockingRounds).toBe(2);
  });

  it('does not count the same head reviewed again as another round', () => {
    const first = nextRound(undefined, verdict('a'.repeat(40), { codex: [SQL] }), BLOCK);
    expect(nextRound(first, verdict('a'.repeat(40), { codex: [SQL] }), BLOCK).blockingRounds).toBe(1);
  });

  it('blocks by the repository rule: major blocks when the policy says so, minor never counts a round by default', () => {
    const major = verdict('a'.repeat(40), { codex: [{ ...NAMING, severity: 'major' }] });
    expect(nextRound(undefined, major, BLOCK).blockingRounds).toBe(0);
    expect(nextRound(undefined, major, ['critical', 'major']).blockingRounds).toBe(1);
  });

  it('tells the human every open blocking finding with its reviewers once the rounds ran out', () => {
    const first = nextRound(undefined, verdict('a'.repeat(40), { codex: [SQL] }), BLOCK);
    const second = nextRound(first, verdict('b'.repeat(40), { codex: [SQL], gemini: [SQL] }), BLOCK);
    expect(roundsExhausted(second, BLOCK, 2)).toBe(
      `2 review round(s) with critical findings (limit 2); open at bbbbbbbbbbbb: src/users.ts:12 critical (codex, gemini): ${SQL.message}`,
    );
  });
});
