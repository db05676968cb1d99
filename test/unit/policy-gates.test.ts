import { describe, expect, it } from '@jest/globals';
import { uiEvidenceGate, type UiEvidenceInput } from '../../workflows/policy/gates.ts';
import type { ChangedFiles, RouteCapture, UiCapture } from '../../workflows/task/types.ts';

type Status = ChangedFiles['files'][number]['status'];
const HEAD = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
const changed = (...files: Array<[string, Status]>): ChangedFiles => ({ headSha: HEAD, files: files.map(([path, status]) => ({ path, status })) });
const uiPaths = ['web/', 'src/components/'];
const preview = { routes: ['/', '/login'] };
const UI_CHANGE = changed(['web/login.tsx', 'modified']);

const route = (path: string, diffPixels: number, after: number | null = 200): RouteCapture => ({
  route: path,
  before: `/state/evidence/t/${HEAD}/before.png`,
  after: `/state/evidence/t/${HEAD}/after.png`,
  diff: `/state/evidence/t/${HEAD}/diff.png`,
  diffPixels,
  diffRatio: diffPixels / 480_000,
  width: 800,
  height: 600,
  sha256: { before: 'c'.repeat(64), after: 'd'.repeat(64), diff: 'e'.repeat(64) },
  httpStatus: { before: 200, after },
});
const base = { taskId: 't', headSha: HEAD, baseSha: OLD, dir: `/state/evidence/t/${HEAD}`, viewport: { width: 800, height: 600 }, durationMs: 1_900 };
const captured = (...routes: RouteCapture[]): UiCapture => ({ ...base, status: 'captured', routes });
const gate = (input: Partial<UiEvidenceInput>) => uiEvidenceGate({ changedFiles: UI_CHANGE, uiPaths, preview, ...input });

describe('uiEvidenceGate', () => {
  it('requires nothing when no changed path is under a UI prefix, with or without a preview', () => {
    for (const p of [preview, undefined]) {
      const result = uiEvidenceGate({ changedFiles: changed(['src/api/users.ts', 'modified'], ['webhooks/github.ts', 'added']), uiPaths, preview: p });
      expect(result).toMatchObject({ required: false, satisfied: true, headSha: HEAD });
    }
  });

  it('is satisfied by the orchestrator’s capture at the head with every route, and says what changed', () => {
    const result = gate({ capture: captured(route('/', 4_800), route('/login', 0)) });
    expect(result).toMatchObject({ required: true, satisfied: true, headSha: HEAD });
    expect(result.detail).toBe(`UI changes (web/login.tsx) captured by the orchestrator at ${HEAD.slice(0, 12)}: 2 route(s), changed: / 1.0% (/state/evidence/t/${HEAD})`);
    expect(gate({ capture: captured(route('/', 0), route('/login', 0)) }).detail).toContain('no pixel changed');
  });

  it('tells a repository without a preview to add one to swarmflow.repo.json', () => {
    const result = gate({ preview: undefined, capture: captured(route('/', 1), route('/login', 1)) });
    expect(result).toMatchObject({ required: true, satisfied: false });
    expect(result.detail).toContain('web/login.tsx');
    expect(result.detail).toMatch(/no `preview` in swarmflow\.repo\.json; add one \(command, readyPath, routes\)/);
  });

  it('is not satisfied before a capture, by a capture of another head, or by a failed one', () => {
    expect(gate({}).detail).toContain(`none taken at ${HEAD.slice(0, 12)} yet`);
    const stale = gate({ capture: { ...captured(route('/', 1), route('/login', 1)), headSha: OLD } });
    expect(stale).toMatchObject({ satisfied: false });
    expect(stale.detail).toContain(`the last capture is of ${OLD.slice(0, 12)}, not the head ${HEAD.slice(0, 12)}`);
    const failed = gate({ capture: { ...base, status: 'failed', failure: { side: 'head', reason: 'the preview command exited with code 1 before / answered', outputTail: 'boom', logFile: '/x/head.preview.log' } } });
    expect(failed).toMatchObject({ satisfied: false });
    expect(failed.detail).toContain('the preview failed on the head: the preview command exited with code 1 before / answered');
  });

  it('needs every configured route captured, and each answered without an error at the head', () => {
    expect(gate({ capture: captured(route('/', 1)) })).toMatchObject({ satisfied: false, detail: expect.stringContaining('/login not captured') });
    const broken = gate({ capture: captured(route('/', 1, 404), route('/login', 1, null)) });
    expect(broken).toMatchObject({ satisfied: false });
    expect(broken.detail).toContain('at the head / answered HTTP 404, /login answered nothing');
    // A page the base did not have yet (404 before) is a new page, not a broken one.
    expect(gate({ capture: captured({ ...route('/', 1), httpStatus: { before: 404, after: 200 } }, route('/login', 0)) }).satisfied).toBe(true);
  });

  it('does not accept the agent’s own images (PR description, committed files) and says why', () => {
    const result = gate({ changedFiles: changed(['web/login.tsx', 'modified'], ['docs/login.png', 'added']), prBody: 'After:\n\n![new login](https://example.com/login.png)' });
    expect(result).toMatchObject({ required: true, satisfied: false });
    expect(result.detail).toContain('an image in the PR description does not count: the orchestrator takes the screenshots');
    expect(gate({ prBody: 'See [the design](https://example.com/design).' }).detail).not.toContain('PR description');
  });
});
