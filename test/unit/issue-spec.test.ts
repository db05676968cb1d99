import { describe, expect, it } from '@jest/globals';
import { closesIssue, issuePriority, issueShape, issueTaskId, issueToSpec, NO_CHECKLIST_REFUSAL, type IssueInput } from '../../workflows/policy/issue-spec.ts';
import { parseTaskSpec, Slug } from '../../workflows/task/spec.ts';

const issue = (over: Partial<IssueInput> = {}): IssueInput => ({
  repository: 'acme/web-shop',
  number: 42,
  url: 'https://github.com/acme/web-shop/issues/42',
  title: 'Login redirects to the wrong page',
  body: 'After login the user lands on /404.\nSee `src/auth/redirect.ts`.\n\n## Acceptance criteria\n- [ ] login lands on /home\n* [x] the redirect test passes\n',
  labels: ['swarm'],
  author: 'alice',
  ...over,
});

describe('issue → spec', () => {
  it('maps title, description without the checklist, criteria, hints, id, requester and issue', () => {
    const mapped = issueToSpec(issue());
    if (!mapped.ok) throw new Error(mapped.refusal);
    const spec = parseTaskSpec(mapped.spec);
    expect(spec.id).toBe('acme-web-shop-issue-42');
    expect(spec.title).toBe('Login redirects to the wrong page');
    expect(spec.description).toBe('After login the user lands on /404.\nSee `src/auth/redirect.ts`.');
    expect(spec.acceptanceCriteria).toEqual(['login lands on /home', 'the redirect test passes']);
    expect(spec.hints.files).toEqual(['src/auth/redirect.ts']);
    expect(spec.requestedBy).toBe('alice');
    expect(spec.issue).toEqual({ repository: 'acme/web-shop', number: 42, url: 'https://github.com/acme/web-shop/issues/42' });
    expect(spec.shape).toBe('ui'); // "page" in the title
  });

  it('refuses an issue without a checklist rather than inventing criteria', () => {
    expect(issueToSpec(issue({ body: 'Please make it faster.' }))).toEqual({ ok: false, refusal: NO_CHECKLIST_REFUSAL });
    expect(NO_CHECKLIST_REFUSAL).toMatch(/add a checklist/i);
  });

  it('cuts a 300-character title to one valid line of 200', () => {
    const mapped = issueToSpec(issue({ title: `${'x'.repeat(150)}\n${'y'.repeat(150)}` }));
    if (!mapped.ok) throw new Error(mapped.refusal);
    expect(parseTaskSpec(mapped.spec).title).toHaveLength(200);
    expect(mapped.spec.title).not.toMatch(/\n/);
  });

  it('drops control characters so the spec validates', () => {
    const mapped = issueToSpec(issue({ title: 'Bad\u0000 title\u0007', body: 'text\u0000\n- [ ] works\u001b' }));
    if (!mapped.ok) throw new Error(mapped.refusal);
    const spec = parseTaskSpec(mapped.spec);
    expect(spec.title).toBe('Bad title');
    expect(spec.acceptanceCriteria).toEqual(['works']);
  });

  it.each([
    [['swarm', 'bug'], 'bug'],
    [['shape:refactor'], 'refactor'],
    [['Shape: UI'], 'ui'],
  ] as const)('takes the shape from labels %j', (labels, shape) => {
    expect(issueShape([...labels], 'nothing telling', [])).toBe(shape);
  });

  it('falls back to the documented rule when no label maps a shape', () => {
    expect(issueShape(['swarm', 'priority:high'], 'add an endpoint', [])).toBe('backend');
    expect(issueShape(['help wanted'], 'style it', ['src/App.tsx'])).toBe('ui');
    expect(issueShape([], 'the server crashes on start', [])).toBe('bug');
    expect(issueShape([], 'refactor the store', [])).toBe('refactor');
  });

  it('takes the priority from a priority:<level> label, the most urgent of several; other priority labels leave it unset', () => {
    expect(issuePriority(['swarm', 'priority:hotfix'])).toBe('hotfix');
    expect(issuePriority(['Priority: Canary'])).toBe('canary');
    expect(issuePriority(['priority:low', 'priority:high'])).toBe('high');
    expect(issuePriority(['priority:P1', 'hotfix', 'urgent'])).toBeUndefined();
    expect(issuePriority([])).toBeUndefined();
    const mapped = issueToSpec(issue({ labels: ['swarm', 'priority:hotfix'] }));
    expect(mapped.ok && mapped.spec.priority).toBe('hotfix');
    // No label, no field: the spec is the one mapped before priorities existed.
    const plain = issueToSpec(issue());
    expect(plain.ok && 'priority' in plain.spec).toBe(false);
  });

  it('derives a valid slug id bounded to 48 characters', () => {
    expect(issueTaskId('Acme/My_Great.Repo', 7)).toBe('acme-my-great-repo-issue-7');
    const long = issueTaskId(`acme/${'a'.repeat(100)}`, 123456);
    expect(long.length).toBeLessThanOrEqual(48);
    expect(long.endsWith('-issue-123456')).toBe(true);
    expect(Slug.safeParse(long).success).toBe(true);
    expect(issueTaskId('___/___', 1)).toBe('repo-issue-1');
  });

  it('rejects a spec whose issue is malformed', () => {
    const mapped = issueToSpec(issue());
    if (!mapped.ok) throw new Error(mapped.refusal);
    expect(() => parseTaskSpec({ ...mapped.spec, issue: { repository: 'acme/web-shop', number: 0, url: 'ftp://x' } })).toThrow(/issue\.number|issue\.url/);
  });
});

describe('the PR closes the issue', () => {
  it('uses #N in the same repository and owner/name#N across repositories', () => {
    expect(closesIssue('acme/web-shop', { repository: 'acme/web-shop', number: 42 })).toBe('Closes #42');
    expect(closesIssue('acme/api', { repository: 'acme/web-shop', number: 42 })).toBe('Closes acme/web-shop#42');
  });
});
