// GitHub Actions, played faithfully on the stand-in: each new head of a PR (#1 unless told) gets the repository's
// tests (`node test.mjs`) run on exactly that commit, reported as the `tests` check run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../paths.ts';
import type { GitHubStandin } from './standin.ts';

export function playActions(standin: GitHubStandin, repository: string, gitDir: () => string, prNumber = 1): { stop(): void; ran: string[] } {
  const ran: string[] = [];
  const timer = setInterval(() => {
    let sha: string;
    try {
      sha = standin.prState(repository, prNumber).headSha;
    } catch {
      return; // no PR yet
    }
    if (ran.includes(sha)) return;
    ran.push(sha);
    const dir = mkdtempSync(join(tempDir('actions'), 'run-'));
    execFileSync('sh', ['-c', `git --git-dir="${gitDir()}" archive ${sha} | tar -x -C "${dir}"`]);
    let ok = true;
    let output = '';
    try {
      execFileSync('node', ['test.mjs'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      ok = false;
      output = String((err as { stderr?: string }).stderr).slice(0, 500);
    }
    standin.addCheckRun(repository, sha, { name: 'tests', status: 'completed', conclusion: ok ? 'success' : 'failure', details_url: `https://ci.example/runs/${ran.length}`, summary: output });
  }, 100);
  return { stop: () => clearInterval(timer), ran };
}
