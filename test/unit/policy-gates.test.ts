import { describe, expect, it } from '@jest/globals';
import { uiEvidenceGate } from '../../workflows/policy/gates.ts';
import type { ChangedFiles } from '../../workflows/task/types.ts';

type Status = ChangedFiles['files'][number]['status'];
const changed = (...files: Array<[string, Status]>): ChangedFiles => ({ headSha: 'a'.repeat(40), files: files.map(([path, status]) => ({ path, status })) });
const uiPaths = ['web/', 'src/components/'];

describe('uiEvidenceGate', () => {
  it('requires nothing when no changed path is under a UI prefix', () => {
    const gate = uiEvidenceGate({ changedFiles: changed(['src/api/users.ts', 'modified'], ['webhooks/github.ts', 'added']), uiPaths, prBody: '' });
    expect(gate).toMatchObject({ required: false, satisfied: true, headSha: 'a'.repeat(40) });
  });

  it('requires a screenshot for a UI change and names the change when there is none', () => {
    const gate = uiEvidenceGate({ changedFiles: changed(['web/login.tsx', 'modified']), uiPaths, prBody: 'Fixes the login form. See [the design](https://example.com/design).' });
    expect(gate).toMatchObject({ required: true, satisfied: false });
    expect(gate.detail).toContain('web/login.tsx');
    expect(gate.detail).toMatch(/screenshot/);
  });

  it('accepts a markdown image in the PR description', () => {
    const gate = uiEvidenceGate({ changedFiles: changed(['src/components/Button.tsx', 'modified']), uiPaths, prBody: 'After:\n\n![new button](https://example.com/button.png)' });
    expect(gate).toMatchObject({ required: true, satisfied: true });
    expect(gate.detail).toContain('PR description');
  });

  it('accepts an image file added with the change, in any of the usual formats', () => {
    for (const image of ['docs/login.png', 'shots/login.JPG', 'shots/login.jpeg', 'shots/a.gif', 'shots/a.webp']) {
      const gate = uiEvidenceGate({ changedFiles: changed(['web/login.tsx', 'modified'], [image, 'added']), uiPaths, prBody: '' });
      expect(gate).toMatchObject({ required: true, satisfied: true });
      expect(gate.detail).toContain(image);
    }
  });

  it('does not count an image that was only modified or deleted, or a non-image file', () => {
    for (const [path, status] of [['docs/login.png', 'modified'], ['docs/old.png', 'deleted'], ['docs/login.svg', 'added']] as Array<[string, Status]>) {
      const gate = uiEvidenceGate({ changedFiles: changed(['web/login.tsx', 'modified'], [path, status]), uiPaths, prBody: '' });
      expect(gate.satisfied).toBe(false);
    }
  });
});
