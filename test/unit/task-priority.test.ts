// The spec's priority level and the Temporal priority a task is started with: the level's key,
// the repository as the fairness key (cut to Temporal's 64 bytes). The dispatch order they buy is
// measured on the dev server in test/integration/fairness.test.ts.
import { describe, expect, it } from '@jest/globals';
import { FAIRNESS_KEY_MAX_BYTES, InvalidTaskSpecError, PRIORITY_KEYS, TASK_PRIORITIES, parseTaskSpec, repositoryFairnessKey, taskPriority, type TaskSpecInput } from '../../workflows/task/spec.ts';

const VALID: TaskSpecInput = {
  id: 'fix-login-redirect',
  repository: '/srv/repos/app',
  title: 'Fix the login redirect',
  description: 'After login the user lands on /home.',
  acceptanceCriteria: ['the user lands on the page they asked for'],
  shape: 'bug',
};

const problems = (input: unknown): string[] => {
  try {
    parseTaskSpec(input);
    return [];
  } catch (err) {
    if (err instanceof InvalidTaskSpecError) return err.problems;
    throw err;
  }
};

describe('the priority field', () => {
  it('is optional, and a spec without it parses to one without it (a running task keeps its spec)', () => {
    expect(parseTaskSpec(VALID)).not.toHaveProperty('priority');
  });

  it('takes each level, hotfix first and canary last', () => {
    for (const level of TASK_PRIORITIES) expect(parseTaskSpec({ ...VALID, priority: level }).priority).toBe(level);
    expect(TASK_PRIORITIES.map((level) => PRIORITY_KEYS[level])).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses anything else with the levels named', () => {
    for (const bad of ['urgent', 'HOTFIX', 1, '', null]) {
      expect(problems({ ...VALID, priority: bad })).toEqual(['priority: a priority: one of hotfix, high, normal, low, canary (hotfix first, canary last; unset is normal)']);
    }
  });
});

describe('taskPriority', () => {
  it("is the level's priority key (normal when unset) and the repository as the fairness key", () => {
    expect(taskPriority(parseTaskSpec(VALID))).toEqual({ priorityKey: 3, fairnessKey: '/srv/repos/app' });
    expect(taskPriority(parseTaskSpec({ ...VALID, priority: 'hotfix' }))).toEqual({ priorityKey: 1, fairnessKey: '/srv/repos/app' });
    expect(taskPriority(parseTaskSpec({ ...VALID, repository: 'Acme/Shop', priority: 'canary' }))).toEqual({ priorityKey: 5, fairnessKey: 'acme/shop' });
  });
});

describe('repositoryFairnessKey', () => {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

  it('is the repository itself when it fits in 64 bytes: one key per repository however it is written', () => {
    expect(repositoryFairnessKey('/srv/repos/app')).toBe('/srv/repos/app');
    expect(repositoryFairnessKey('/srv/repos/app/')).toBe('/srv/repos/app');
    expect(repositoryFairnessKey('/')).toBe('/');
    expect(repositoryFairnessKey('Octo/Shop')).toBe(repositoryFairnessKey('octo/shop'));
    const exact = `/${'a'.repeat(63)}`;
    expect(repositoryFairnessKey(exact)).toBe(exact);
  });

  it('is a digest and the end of a longer one, within 64 bytes, cut between characters', () => {
    const long = `/${'a'.repeat(64)}`;
    expect(repositoryFairnessKey(long)).toMatch(/^[0-9a-f]{16}:a+$/);
    expect(bytes(repositoryFairnessKey(long))).toBe(FAIRNESS_KEY_MAX_BYTES);
    // 2- and 4-byte characters: never cut through one.
    for (const deep of [`/srv/${'ü/'.repeat(40)}calc`, `/srv/${'😀'.repeat(30)}/calc`, `${'a'.repeat(38)}/${'b'.repeat(100)}`]) {
      const key = repositoryFairnessKey(deep);
      expect(bytes(key)).toBeLessThanOrEqual(FAIRNESS_KEY_MAX_BYTES);
      expect(key).not.toContain('\uFFFD');
      expect(deep.endsWith(key.slice(17))).toBe(true);
    }
  });

  it('tells long repositories with the same end apart', () => {
    const a = `/mnt/one/${'x'.repeat(80)}/app`;
    const b = `/mnt/two/${'x'.repeat(80)}/app`;
    expect(repositoryFairnessKey(a)).not.toBe(repositoryFairnessKey(b));
    expect(repositoryFairnessKey(a).slice(17)).toBe(repositoryFairnessKey(b).slice(17));
  });
});
