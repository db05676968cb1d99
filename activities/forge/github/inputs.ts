// Input rules shared by the GitHub forge's activities: checked before anything reaches octokit or git.
import { z } from 'zod';
import { GitHubRepository } from '../../../workflows/task/spec.ts';
import { FailureType, nonRetryable } from '../../errors.ts';

export { GitHubRepository };
export const PrNumber = z.number().int().positive();
export const Sha = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit SHA');
export const PrRef = z.object({ repository: GitHubRepository, number: PrNumber });

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
  throw nonRetryable(FailureType.InvalidInput, `invalid ${what} input: ${problems.join('; ')}`, { problems });
}

export const splitRepository = (repository: string) => {
  const [owner, repo] = repository.split('/') as [string, string];
  return { owner, repo };
};
