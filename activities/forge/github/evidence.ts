// The evidence on the PR: one issue comment on the PR's conversation, marked
// `<!-- swarmflow-evidence -->`, that the orchestrator edits in place at every verified head (so
// the conversation does not fill up): the Definition of Done with its evidence, the criteria
// mapping and the screenshots' figures. Posted again at the same head with the same text, it
// changes nothing.
import { z } from 'zod';
import { upsertMarkedComment } from './comments.ts';
import type { GitHubContext } from './context.ts';
import { GitHubRepository, Sha, parseInput } from './inputs.ts';

export const EVIDENCE_MARKER = '<!-- swarmflow-evidence -->';

const PostEvidenceInput = z.object({ repository: GitHubRepository, number: z.number().int().positive(), headSha: Sha, body: z.string().min(1) });

export function evidenceActivities(gh: GitHubContext) {
  return {
    async postEvidence(input: z.input<typeof PostEvidenceInput>): Promise<{ commentId: number | null; url?: string; changed: boolean }> {
      const { repository, number, body } = parseInput(PostEvidenceInput, input, 'postEvidence');
      return upsertMarkedComment(gh, { repository, number, thread: 'PR' }, EVIDENCE_MARKER, body);
    },
  };
}
