// Input rules shared by the GitHub forge's activities: checked before anything reaches octokit or git.
import { z } from 'zod';
import { GitHubRepository } from '../../../workflows/task/spec.ts';
export { parseInput } from '../../errors.ts';

export { GitHubRepository };
export const PrNumber = z.number().int().positive();
export const Sha = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit SHA');
export const PrRef = z.object({ repository: GitHubRepository, number: PrNumber });


export const splitRepository = (repository: string) => {
  const [owner, repo] = repository.split('/') as [string, string];
  return { owner, repo };
};
