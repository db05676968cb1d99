// The local forge's intake on the time-skipping server with the real activities (issue #13): the
// requests committed under .swarm/requests/ become tasks, once each, whatever becomes of them; a
// request that cannot be a task is refused with what to fix, and the others still start.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { intakeRequests, requestSpec } from '../../client/intake.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { createTestbed, eventually, sampleRepo } from '../harness/task-testbed.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';

const REQUEST = [
  '---',
  'labels: [backend]',
  'requestedBy: alice',
  'agent: scripted',
  '---',
  '# Add multiply() to the calculator',
  '',
  'Add multiply(a, b) next to add() in `src/calc.mjs`.',
  '',
  '## Acceptance criteria',
  '- [ ] calc.multiply(4, 5) returns 20',
  '- [ ] add() is unchanged',
  '',
].join('\n');
const NO_CRITERIA = '# Make it faster\n\nEverything is slow.\n';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

describe('swarm intake on the local forge', () => {
  it('starts a task per committed request once, even after the task ended, and refuses a request without criteria', async () => {
    const repo = sampleRepo({
      files: { 'src/calc.mjs': 'export const add = (a, b) => a + b;\n', '.swarm/requests/add-multiply.md': REQUEST, '.swarm/requests/faster.md': NO_CRITERIA },
      scenario: [{ files: { 'src/calc.mjs': 'export const add = (a, b) => a + b;\nexport const multiply = (a, b) => a * b;\n' }, commit: 'Add multiply' }],
    });
    const bed = await createTestbed(env);
    try {
      await bed.run(async () => {
        const client = SwarmClient.fromClient(env.client, bed.config);
        const first = await intakeRequests(client, repo);
        expect(first).toEqual([
          { file: '.swarm/requests/add-multiply.md', taskId: 'request-add-multiply', outcome: 'started', workflowId: 'task-request-add-multiply' },
          { file: '.swarm/requests/faster.md', outcome: 'refused', reason: expect.stringContaining('faster.md has no acceptance criteria: add a checklist') },
        ]);
        const state = await eventually(() => client.getTask('request-add-multiply'), (s) => s.status === 'awaiting_approval');
        expect(state.spec).toMatchObject({
          title: 'Add multiply() to the calculator',
          description: 'Add multiply(a, b) next to add() in `src/calc.mjs`.',
          acceptanceCriteria: ['calc.multiply(4, 5) returns 20', 'add() is unchanged'],
          shape: 'backend',
          requestedBy: 'alice',
          hints: { files: ['src/calc.mjs'] },
        });
        // Polled again while it runs, and after it ended: reported, never started again.
        expect((await intakeRequests(client, repo))[0]).toEqual({ file: '.swarm/requests/add-multiply.md', taskId: 'request-add-multiply', outcome: 'known', status: 'running' });
        await client.abort('request-add-multiply', { by: 'test' });
        await eventually(() => client.lastRunStatus('request-add-multiply'), (s) => s !== 'RUNNING');
        expect((await intakeRequests(client, repo))[0]).toMatchObject({ outcome: 'known', status: 'failed' });
      });
    } finally {
      await bed.teardown();
    }
  }, 120_000);
});

describe('an issue taken in on a host without GitHub', () => {
  it('fails the intake with what to configure, said by the client (not "Workflow execution failed")', async () => {
    const bed = await createTestbed(env);
    try {
      await bed.run(async () => {
        const client = SwarmClient.fromClient(env.client, bed.config);
        await expect(client.intakeIssue('octo/shop', 7)).rejects.toThrow(
          'the intake of octo/shop#7 failed: octo/shop is a GitHub repository, but GitHub is not configured: set GITHUB_TOKEN, or GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY_PATH',
        );
      });
    } finally {
      await bed.teardown();
    }
  });
});

describe('a request file as a spec', () => {
  it('takes its shape from a label, else from its words, and names what is missing', () => {
    expect(requestSpec('/r', '.swarm/requests/ui.md', '---\nlabels: ui\n---\n# Tweak\n- [ ] done\n')).toMatchObject({ ok: true, spec: { id: 'request-ui', shape: 'ui' } });
    expect(requestSpec('/r', '.swarm/requests/crash.md', '# The app crashes on start\n- [ ] it starts\n')).toMatchObject({ ok: true, spec: { shape: 'bug' } });
    expect(requestSpec('/r', '.swarm/requests/x.md', 'no heading\n- [ ] done\n')).toEqual({ ok: false, refusal: '.swarm/requests/x.md: no title; start it with a "# <title>" line' });
    expect(requestSpec('/r', '.swarm/requests/x.md', '---\n[broken\n---\n# T\n- [ ] d\n')).toMatchObject({ ok: false, refusal: expect.stringContaining('frontmatter: not valid YAML') });
    expect(requestSpec('/r', '.swarm/requests/---.md', '# T\n- [ ] d\n')).toMatchObject({ ok: false, refusal: expect.stringContaining('no letter or digit in its name') });
  });
});
