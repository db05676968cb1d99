// The merge authority, proven (issue #12): on the time-skipping server with the real activities,
// a decision counts only from a listed approver, signed with their key, for this task and the PR
// head it names. Each forgery is refused with its reason and recorded in the task's notes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { listArtifacts } from '../../activities/store/artifacts.ts';
import { SwarmClient } from '../../client/swarm-client.ts';
import { generateSigningKey, signDecision } from '../../lib/keys.ts';
import { decideUpdate, type DecideInput } from '../../workflows/task/messages.ts';
import type { TaskState } from '../../workflows/task/state.ts';
import { approverKey } from '../harness/approvers.ts';
import { recordHistory } from '../harness/histories.ts';
import { timeSkippingEnv } from '../harness/temporal.ts';
import { createTestbed, eventually, git, sampleRepo, type Testbed, type TestbedOverrides } from '../harness/task-testbed.ts';

const ADD = 'export const add = (a, b) => a + b;\n';
const FILES = { 'calc.mjs': ADD, 'test.mjs': "import * as c from './calc.mjs';\nif (c.multiply(4, 5) !== 20) process.exit(1);\n" };
const GOOD = { files: { 'calc.mjs': `${ADD}export const multiply = (a, b) => a * b;\n` }, commit: 'Add multiply' };

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

interface Gate {
  bed: Testbed;
  client: SwarmClient;
  waiting: TaskState;
  head: string;
  repo: string;
  state: () => Promise<TaskState>;
  /** Sends the decision as given (no signing by the client) and returns the refusal's message. */
  refused: (input: DecideInput) => Promise<string>;
}

async function atGate(id: string, body: (g: Gate) => Promise<void>, options: { approvers?: TestbedOverrides['approvers']; requestedBy?: string } = {}): Promise<void> {
  const repo = sampleRepo({ files: FILES, ci: [{ name: 'tests', command: 'node test.mjs' }], scenario: [GOOD] });
  const bed = await createTestbed(env, { approvers: options.approvers });
  const client = SwarmClient.fromClient(env.client, bed.config);
  try {
    await bed.run(async () => {
      await client.startTask({ id, repository: repo, title: 'Add multiply()', description: 'multiply(a, b)', acceptanceCriteria: ['multiply(4, 5) is 20'], shape: 'backend', agent: 'scripted', ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}) });
      const state = () => client.getTask(id);
      const waiting = await eventually(state, (s) => s.status === 'awaiting_approval');
      const refused = async (input: DecideInput) => {
        const err = await env.client.workflow.getHandle(`task-${id}`).executeUpdate(decideUpdate, { args: [input] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
        return (err as WorkflowUpdateFailedError).cause?.message ?? '';
      };
      await body({ bed, client, waiting, head: waiting.checks.pr!.headSha, repo, state, refused });
      await recordHistory(env.client, `task-${id}`, `time-skipping-${id}`);
    });
  } finally {
    await bed.teardown();
  }
}

const claim = (taskId: string, headSha: string, decision: 'approve' | 'reject' = 'approve') => ({ taskId, headSha, decision });

describe('proven approvals', () => {
  it('refuses a forged --by, a missing signature, a signature for another task, an older head or another decision, and a key not on the list; a valid one merges', async () => {
    await atGate(
      'signed-only',
      async ({ bed, client, head, repo, state, refused, waiting }) => {
        const base = git(repo, 'rev-parse', 'main');
        const alice = approverKey('alice');
        const mallory = generateSigningKey();
        // Each message is the workflow's answer, word for word.
        expect(await refused({ decision: 'approve', by: 'alice' })).toBe(
          "approval refused: the decision is not signed: decide with swarm approve (it signs with alice's key, see swarm keys create), on GitHub or on Telegram",
        );
        expect(await refused({ decision: 'approve', by: 'mallory', signed: signDecision(mallory, claim('signed-only', head)) })).toBe('approval refused: mallory is not on the approvers list');
        expect(await refused({ decision: 'approve', by: 'alice', signed: signDecision(mallory, claim('signed-only', head)) })).toMatch(
          /^approval refused: the signature is not by alice's key \(sha256:[0-9a-f]{16}\) over this approval: signed with another key, or changed after signing$/,
        );
        expect(await refused({ decision: 'approve', by: 'alice', signed: signDecision(alice, claim('other-task', head)) })).toBe('approval refused: it was signed for task other-task, not signed-only');
        const older = git(repo, 'rev-parse', 'main');
        expect(await refused({ decision: 'approve', by: 'alice', signed: signDecision(alice, claim('signed-only', older)) })).toBe(
          `approval refused: it was signed for head ${older.slice(0, 12)}, but the PR's head is ${head.slice(0, 12)}: a new head needs a new decision`,
        );
        // A signed rejection does not pass for an approval.
        expect(await refused({ decision: 'approve', by: 'alice', signed: signDecision(alice, claim('signed-only', head, 'reject')) })).toMatch(/^approval refused: the signature is not by alice's key/);
        // bob is listed by name only: no key, nothing he sends can count.
        expect(await refused({ decision: 'approve', by: 'bob', signed: signDecision(approverKey('bob'), claim('signed-only', head)) })).toBe(
          'approval refused: bob has no public key in the configuration: run swarm keys create bob and add the key it prints to approvers',
        );
        expect(await refused({ decision: 'approve', by: 'alice', signed: { ...signDecision(alice, claim('signed-only', head)), at: '2099-01-01T00:00:00.000Z' } })).toBe(
          'approval refused: it is dated 2099-01-01T00:00:00.000Z, ahead of the task\'s clock by more than approvals.maxClockSkew',
        );

        // Every refusal is in the task's record, and nothing merged.
        const after = await state();
        expect(after.notes.filter((n) => / approval by \w+ refused: /.test(n))).toHaveLength(8);
        expect(after.decision).toBeUndefined();
        expect(after.status).toBe('awaiting_approval');
        expect(git(repo, 'rev-parse', 'main')).toBe(base);
        expect(waiting.setup?.decisions?.orchestratorPublicKey).toMatch(/^ed25519:[0-9a-f]{64}$/);

        // The client signs with alice's key for the head the task has: merged, with the proof kept.
        const merged = await client.decide('signed-only', { decision: 'approve', by: 'alice', comment: 'reviewed' });
        expect(merged.status).toBe('merged');
        expect(merged.decision).toMatchObject({ decision: 'approve', by: 'alice', channel: 'key', headSha: head, signed: { channel: 'key', taskId: 'signed-only', headSha: head } });
        expect(merged.dod?.items.find((i) => i.key === 'human_approved')).toMatchObject({ ok: true, detail: 'approved by alice (signed with their key)' });
        // The approver's own signature is in the evidence the merge closes with.
        const final = (await listArtifacts(bed.database.db, 'signed-only')).find((a) => a.key === 'verification:final');
        expect(final?.payload).toMatchObject({ decision: { by: 'alice', channel: 'key', signed: merged.decision!.signed } });
      },
      { approvers: ['alice', { name: 'bob' }] },
    );
  });

  it('the requester cannot approve their own task alone: another approver must', async () => {
    await atGate(
      'own-task',
      async ({ client, head, refused }) => {
        expect(await refused({ decision: 'approve', by: 'alice', signed: signDecision(approverKey('alice'), claim('own-task', head)) })).toBe(
          'approval refused: alice requested this task and cannot approve it alone: another approver must (approvals.requesterMayApprove)',
        );
        const merged = await client.decide('own-task', { decision: 'approve', by: 'bob' });
        expect(merged).toMatchObject({ status: 'merged', decision: { by: 'bob', channel: 'key' } });
        expect(merged.notes.some((n) => n.includes('approval by alice refused: alice requested this task'))).toBe(true);
      },
      { approvers: ['alice', 'bob'], requestedBy: 'alice' },
    );
  });
});
