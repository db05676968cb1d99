// The local forge, the embedded default of the forge port: a pull request is a row in Postgres for
// a branch of a local git repository. Mergeability is a real `git merge-tree`, CI is the
// repository's own commands in a clean checkout of the PR head under the base's gate definitions
// (gates/restore-gates.ts), and a merge fast-forwards or
// commits onto the base and moves the base ref only with a compare-and-swap.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BranchName, SafeAbsolutePath, Slug } from '../../workflows/task/spec.ts';
import type { ChangedFiles, CiCheck, CiVerdict, Mergeability, PullRequest, RepoPolicy, SyncResult } from '../../workflows/task/types.ts';
import { FailureType, nonRetryable, parseInput } from '../errors.ts';
import { git, GitError, isAncestor, isRepository, mergeBaseOf, mergeTree, revParse, worktreeWithBranch } from '../git.ts';
import { collectTaskBranch } from '../task-branch.ts';
import type { Db } from '../store/db.ts';
import { beat } from '../activity-context.ts';
import { runCheck } from './ci-runner.ts';
import { withSandbox, type SandboxedRun, type SandboxSettings } from '../agents/sandboxed.ts';
import { withCleanCheckout } from './clean-checkout.ts';
import type { HeavySlots } from '../host/capacity.ts';
import { jsonb } from '../store/jsonb.ts';
import { CiCheckConfigSchema, EMPTY_POLICY, parseRepoPolicy, POLICY_FILE } from './policy.ts';
import { capDiff } from './diff.ts';
import { restoreBaseGates } from '../gates/restore-gates.ts';
import { listOf } from '../../workflows/policy/text.ts';

export interface LocalForgeDeps {
  db: Db;
  /** CI checkouts and logs live under `<stateDir>/ci/`. */
  stateDir: string;
  /** The host's heavy validation slots: a CI run holds one. Without them CI runs are not limited. */
  heavySlots?: HeavySlots;
  /**
   * The agents' sandbox, for the checks: they run the agent's code (its tests, its build scripts),
   * so they run as the task's uid, seeing nothing of ours. Without it (the forge's own tests), as the worker.
   */
  sandbox?: SandboxSettings;
}

// ---- inputs: every value that reaches git argv or a path is checked first ----

/** Normalised (no trailing slash) so one repository is one key. */
const Repository = SafeAbsolutePath.transform((p) => resolve(p));
const PrNumber = z.number().int().positive();
const Sha = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, 'a full commit SHA');
const PrRef = z.object({ repository: Repository, number: PrNumber });


// ---- rows read back ----

const PrRow = z.object({
  repository: z.string(),
  number: z.number().int(),
  branch: z.string(),
  base: z.string(),
  title: z.string(),
  body: z.string(),
  state: z.enum(['open', 'merged', 'closed']),
  head_sha: z.string(),
  merge_sha: z.string().nullable(),
});
type PrRow = z.infer<typeof PrRow>;

const CiCheckRow = z.object({
  name: z.string(),
  status: z.enum(['passed', 'failed', 'timed_out']),
  exitCode: z.number().int().nullable(),
  durationMs: z.number(),
  outputFile: z.string(),
  outputTail: z.string(),
});
const VerdictRow = z.object({ head_sha: z.string(), status: z.enum(['passed', 'failed', 'no_checks']), checks: z.array(CiCheckRow) });

const PR_COLUMNS = 'repository, number, branch, base, title, body, state, head_sha, merge_sha';

// ---- git helpers ----

const ref = (branch: string) => `refs/heads/${branch}`;

/** A git repository at exactly this path (its top level, or a bare repository), else InvalidInput. */
async function assertRepository(repository: string): Promise<void> {
  if (!existsSync(repository)) throw nonRetryable(FailureType.InvalidInput, `repository ${repository} does not exist`);
  if (!(await isRepository(repository))) throw nonRetryable(FailureType.InvalidInput, `${repository} is not a git repository (or not its top-level directory)`);
}

async function requireBranch(repository: string, branch: string, role: 'base' | 'head'): Promise<string> {
  const sha = await revParse(repository, ref(branch));
  if (!sha) throw nonRetryable(FailureType.InvalidInput, `${role} branch "${branch}" does not exist in ${repository}`);
  return sha;
}

async function mergeBase(repository: string, base: string, head: string): Promise<string> {
  const sha = await mergeBaseOf(repository, base, head);
  if (!sha) throw nonRetryable(FailureType.InvalidInput, `${head} has no history in common with ${base} in ${repository}`);
  return sha;
}

const toPullRequest = (row: PrRow, headSha: string): PullRequest => ({
  number: row.number,
  branch: row.branch,
  base: row.base,
  headSha,
  state: row.state,
  title: row.title,
  body: row.body,
  url: `local://${row.repository}#${row.number}`,
});

export function createLocalForge({ db, stateDir, heavySlots, sandbox }: LocalForgeDeps) {
  async function findPr(repository: string, number: number): Promise<PrRow> {
    const { rows } = await db.query(`SELECT ${PR_COLUMNS} FROM local_prs WHERE repository = $1 AND number = $2`, [repository, number]);
    if (!rows[0]) throw nonRetryable(FailureType.InvalidInput, `no local PR #${number} in ${repository}`);
    return PrRow.parse(rows[0]);
  }

  /** The live head: the branch ref, or the recorded head once the branch is gone (deleted after merge). */
  async function headOf(repository: string, row: PrRow): Promise<string> {
    return (await revParse(repository, ref(row.branch))) ?? row.head_sha;
  }

  /** The PR row plus the SHAs a comparison needs: base tip, head, and their merge-base. */
  async function comparison(input: unknown, what: string) {
    const { repository, number } = parseInput(PrRef, input, what);
    await assertRepository(repository);
    const row = await findPr(repository, number);
    const baseSha = await requireBranch(repository, row.base, 'base');
    const headSha = await headOf(repository, row);
    return { repository, row, baseSha, headSha, mergeBaseSha: await mergeBase(repository, baseSha, headSha) };
  }

  async function markMerged(row: PrRow, headSha: string, mergeSha: string): Promise<void> {
    await db.query(
      `UPDATE local_prs SET state = 'merged', head_sha = $3, merge_sha = $4, merged_at = now(), updated_at = now()
       WHERE repository = $1 AND number = $2 AND state = 'open'`,
      [row.repository, row.number, headSha, mergeSha],
    );
  }

  return {
    /** The local git repository the host makes task worktrees from: for the local forge, the repository itself. */
    async localCheckout(input: { repository: string }): Promise<{ path: string }> {
      const { repository } = parseInput(z.object({ repository: Repository }), input, 'localCheckout');
      await assertRepository(repository);
      return { path: repository };
    },

    /** The agent's branch, collected from its clone into the repository (the branch PRs are read from). */
    async collectBranch(input: { repository: string; worktree: string; branch: string }): Promise<{ headSha: string }> {
      const { repository, worktree, branch } = parseInput(z.object({ repository: Repository, worktree: SafeAbsolutePath, branch: BranchName }), input, 'collectBranch');
      await assertRepository(repository);
      const headSha = await collectTaskBranch(repository, worktree, branch);
      if (headSha === undefined) throw nonRetryable(FailureType.InvalidInput, `branch ${branch} exists neither in ${worktree} nor in ${repository}`);
      return { headSha };
    },

    async loadRepoPolicy(input: { repository: string; base: string }): Promise<RepoPolicy> {
      const { repository, base } = parseInput(z.object({ repository: Repository, base: BranchName }), input, 'loadRepoPolicy');
      await assertRepository(repository);
      await requireBranch(repository, base, 'base');
      const found = await git(repository, ['rev-parse', '--verify', '--quiet', `${ref(base)}:${POLICY_FILE}`], { allowFailure: true });
      if (found.exitCode !== 0) return EMPTY_POLICY;
      const { stdout } = await git(repository, ['cat-file', 'blob', found.stdout.trim()]);
      return parseRepoPolicy(stdout, `${POLICY_FILE} on ${base} in ${repository}`);
    },

    async ensurePr(input: { taskId: string; repository: string; base: string; branch: string; title: string; body: string }): Promise<PullRequest> {
      const { taskId, repository, base, branch, title, body } = parseInput(
        z.object({
          taskId: Slug,
          repository: Repository,
          base: BranchName,
          branch: BranchName,
          title: z.string().trim().min(1).max(200),
          body: z.string().max(65_536),
        }),
        input,
        'ensurePr',
      );
      await assertRepository(repository);
      await requireBranch(repository, base, 'base');
      const headSha = await requireBranch(repository, branch, 'head');
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        // Numbers count per repository: PR creation is serialised per repository so two never draw the same one.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`local-forge:${repository}`]);
        const updated = await client.query(
          `UPDATE local_prs SET title = $3, body = $4, head_sha = $5, updated_at = now()
           WHERE repository = $1 AND branch = $2 AND state = 'open' RETURNING ${PR_COLUMNS}`,
          [repository, branch, title, body, headSha],
        );
        let row: unknown = updated.rows[0];
        if (!row) {
          const inserted = await client.query(
            `INSERT INTO local_prs (repository, number, task_id, branch, base, title, body, state, head_sha)
             VALUES ($1, (SELECT coalesce(max(number), 0) + 1 FROM local_prs WHERE repository = $1), $2, $3, $4, $5, $6, 'open', $7)
             RETURNING ${PR_COLUMNS}`,
            [repository, taskId, branch, base, title, body, headSha],
          );
          row = inserted.rows[0];
        }
        await client.query('COMMIT');
        return toPullRequest(PrRow.parse(row), headSha);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async getPr(input: { repository: string; number: number }): Promise<PullRequest> {
      const { repository, number } = parseInput(PrRef, input, 'getPr');
      await assertRepository(repository);
      const row = await findPr(repository, number);
      return toPullRequest(row, await headOf(repository, row));
    },

    async changedFiles(input: { repository: string; number: number }): Promise<ChangedFiles> {
      const { repository, headSha, mergeBaseSha } = await comparison(input, 'changedFiles');
      const { stdout } = await git(repository, ['diff', '--name-status', '-z', '-M', '--no-ext-diff', mergeBaseSha, headSha]);
      const fields = stdout.split('\0');
      const files: ChangedFiles['files'] = [];
      for (let i = 0; i + 1 < fields.length; ) {
        const code = fields[i]![0];
        if (code === 'R' || code === 'C') {
          // Renames and copies name the old path, then the new one.
          files.push({ path: fields[i + 2]!, status: code === 'R' ? 'renamed' : 'added' });
          i += 3;
        } else {
          files.push({ path: fields[i + 1]!, status: code === 'A' ? 'added' : code === 'D' ? 'deleted' : 'modified' });
          i += 2;
        }
      }
      return { headSha, files };
    },

    async diff(input: { repository: string; number: number }): Promise<{ headSha: string; diff: string; truncated: boolean }> {
      const { repository, headSha, mergeBaseSha } = await comparison(input, 'diff');
      const { stdout } = await git(repository, ['diff', '-M', '--no-color', '--no-ext-diff', '--no-textconv', mergeBaseSha, headSha]);
      return { headSha, ...capDiff(stdout) };
    },

    async checkMergeable(input: { repository: string; number: number }): Promise<Mergeability> {
      const { repository, baseSha, headSha } = await comparison(input, 'checkMergeable');
      const { conflicts } = await mergeTree(repository, baseSha, headSha);
      const { stdout } = await git(repository, ['rev-list', '--count', `${headSha}..${baseSha}`]);
      return { mergeable: conflicts.length === 0, behindBy: Number(stdout.trim()), conflicts, headSha };
    },

    async syncWithBase(input: { repository: string; number: number; worktree: string }): Promise<SyncResult> {
      const { repository, number } = parseInput(PrRef.extend({ worktree: SafeAbsolutePath }), input, 'syncWithBase');
      await assertRepository(repository);
      const row = await findPr(repository, number);
      const baseSha = await requireBranch(repository, row.base, 'base');
      const headSha = await requireBranch(repository, row.branch, 'head');
      if (await isAncestor(repository, baseSha, headSha)) return { status: 'up_to_date', headSha, conflicts: [] };
      // The merge is made here as a tree and a commit, never in the agent's clone (whose git config
      // is the agent's): the agent gets it from its origin, and its next work is merged onto it.
      const checkedOut = await worktreeWithBranch(repository, row.branch);
      if (checkedOut) {
        throw nonRetryable(FailureType.InvalidInput, `${row.branch} is checked out in ${checkedOut}: swarmflow will not move a branch under a working tree (a task started by an earlier release: restart it)`);
      }
      const { tree, conflicts } = await mergeTree(repository, headSha, baseSha);
      if (conflicts.length > 0) return { status: 'conflict', headSha, conflicts };
      const message = `Merge ${row.base} into ${row.branch}\n`;
      const merged = (await git(repository, ['commit-tree', tree, '-p', headSha, '-p', baseSha, '-F', '-'], { input: message })).stdout.trim();
      // Compare-and-swap: a branch that moved meanwhile fails this, and the retry merges onto its new head.
      await git(repository, ['update-ref', '-m', `swarmflow: merge ${row.base} into ${row.branch}`, ref(row.branch), merged, headSha]);
      return { status: 'synced', headSha: merged, conflicts: [] };
    },

    async runCi(input: { taskId: string; repository: string; number: number; headSha: string; checks: RepoPolicy['ci']; rerunFailed?: boolean }): Promise<CiVerdict> {
      const { taskId, repository, number, headSha, checks, rerunFailed } = parseInput(
        PrRef.extend({ taskId: Slug, headSha: Sha, checks: z.array(CiCheckConfigSchema).max(50), rerunFailed: z.boolean().optional() }),
        input,
        'runCi',
      );
      await assertRepository(repository);
      const row = await findPr(repository, number);
      const stored = async (): Promise<CiVerdict | undefined> => {
        const { rows } = await db.query('SELECT head_sha, status, checks FROM local_ci_verdicts WHERE repository = $1 AND number = $2 AND head_sha = $3', [
          repository,
          number,
          headSha,
        ]);
        if (!rows[0]) return undefined;
        const row = VerdictRow.parse(rows[0]);
        return { headSha: row.head_sha, status: row.status, checks: row.checks };
      };
      // A failed verdict the CI machine caused (its network, its disk) is run again when asked.
      if (rerunFailed) await db.query(`DELETE FROM local_ci_verdicts WHERE repository = $1 AND number = $2 AND head_sha = $3 AND status = 'failed'`, [repository, number, headSha]);
      // A retried activity for the same SHA returns the verdict instead of running the commands again.
      const previous = await stored();
      if (previous) return previous;
      if (!(await revParse(repository, headSha))) throw nonRetryable(FailureType.InvalidInput, `commit ${headSha} does not exist in ${repository}`);

      const results: CiCheck[] = [];
      if (checks.length > 0) {
        const baseSha = await requireBranch(repository, row.base, 'base');
        const dir = join(stateDir, 'ci', taskId, headSha);
        const checkout = join(dir, 'checkout');
        const release = await heavySlots?.acquire();
        try {
          await withCleanCheckout({ repository, dir: checkout, sha: headSha, alsoFetch: [baseSha] }, async () => {
            // The checks are the base's (the policy file is read from it); so are the configs they read.
            const fromBase = await restoreBaseGates(checkout, baseSha, headSha);
            const preamble = fromBase.length > 0 ? `[swarmflow] gate files as the base ${row.base} has them: ${listOf(fromBase, 20)}\n` : undefined;
            const runChecks = async (run?: SandboxedRun) => {
              for (const check of checks) {
                beat({ check: check.name });
                results.push(await runCheck(check, { cwd: checkout, logFile: join(dir, `${check.name}.log`), preamble, sandbox: run }));
              }
            };
            // The network as the host allows it (host.egressAllow): a CI run here fetches nothing the base's checks did not bring.
            if (sandbox) await withSandbox(sandbox, { name: 'the CI checks', taskId, worktree: checkout, home: join(dir, 'home') }, runChecks);
            else await runChecks();
          });
        } finally {
          release?.();
        }
      }
      const status = results.length === 0 ? 'no_checks' : results.every((r) => r.status === 'passed') ? 'passed' : 'failed';
      await db.query(
        `INSERT INTO local_ci_verdicts (repository, number, head_sha, task_id, status, checks) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (repository, number, head_sha) DO NOTHING`,
        [repository, number, headSha, taskId, status, jsonb(results)],
      );
      // A concurrent attempt may have stored its verdict first: every caller returns the same one.
      return (await stored())!;
    },

    async mergePr(input: { repository: string; number: number; expectedHeadSha: string }): Promise<{ mergeSha: string; alreadyMerged: boolean }> {
      const { repository, number, expectedHeadSha } = parseInput(PrRef.extend({ expectedHeadSha: Sha }), input, 'mergePr');
      await assertRepository(repository);
      const row = await findPr(repository, number);
      if (row.state === 'merged') return { mergeSha: row.merge_sha!, alreadyMerged: true };
      if (row.state === 'closed') throw nonRetryable(FailureType.InvalidInput, `PR #${number} in ${repository} is closed`);
      const headSha = await requireBranch(repository, row.branch, 'head');
      if (headSha !== expectedHeadSha) {
        throw nonRetryable(
          FailureType.HeadMoved,
          `PR #${number} head is ${headSha}, not the verified ${expectedHeadSha}: merging now would merge unverified code`,
          { expectedHeadSha, headSha },
        );
      }
      const baseSha = await requireBranch(repository, row.base, 'base');
      if (await isAncestor(repository, headSha, baseSha)) {
        // Already in the base: a retry whose base update landed before the row was marked, or a merge made outside swarmflow.
        const mergeSha = row.merge_sha && (await isAncestor(repository, row.merge_sha, baseSha)) ? row.merge_sha : headSha;
        await markMerged(row, headSha, mergeSha);
        return { mergeSha, alreadyMerged: true };
      }

      const checkedOutIn = await worktreeWithBranch(repository, row.base);
      if (checkedOutIn) {
        const { stdout } = await git(checkedOutIn, ['status', '--porcelain', '--untracked-files=no']);
        if (stdout.trim() !== '') {
          throw nonRetryable(
            FailureType.BaseNotUpdatable,
            `the base branch "${row.base}" is checked out in ${checkedOutIn} with uncommitted changes, which swarmflow will not touch: ` +
              `commit or stash them (or check out another branch there)`,
            { worktree: checkedOutIn, changes: stdout.split('\n') },
          );
        }
      }

      let mergeSha = headSha;
      if (!(await isAncestor(repository, baseSha, headSha))) {
        const { tree, conflicts } = await mergeTree(repository, baseSha, headSha);
        if (conflicts.length > 0) {
          throw nonRetryable(FailureType.MergeConflict, `PR #${number} no longer merges cleanly into ${row.base}: conflicts in ${conflicts.join(', ')}`, { conflicts });
        }
        const message = `Merge swarm PR #${number}: ${row.title}\n\nMerges ${row.branch} (${headSha}) into ${row.base}.\n`;
        mergeSha = (await git(repository, ['commit-tree', tree, '-p', baseSha, '-p', headSha, '-F', '-'], { input: message })).stdout.trim();
      }
      await db.query(`UPDATE local_prs SET merge_sha = $3, updated_at = now() WHERE repository = $1 AND number = $2 AND state = 'open'`, [
        repository,
        number,
        mergeSha,
      ]);

      if (checkedOutIn) {
        // Moving the ref under a checked-out branch would leave its files stale: fast-forward that worktree
        // instead, which moves ref and files together and only if the base is still where we merged it.
        const res = await git(checkedOutIn, ['merge', '--ff-only', mergeSha], { allowFailure: true });
        if (res.exitCode !== 0) {
          // Another git process holds a lock, which passes: the retry tries again. A fast-forward that
          // updated the files but not the locked ref leaves them staged: back to the base they were at
          // (its tracked files were clean, checked above; refs and untracked files are not touched).
          if (/update_ref failed/.test(res.stderr)) await git(checkedOutIn, ['read-tree', '-u', '--reset', baseSha]);
          if ((await revParse(repository, ref(row.base))) !== baseSha || /\.lock': File exists/.test(res.stderr)) throw new GitError(['merge', '--ff-only', mergeSha], res.exitCode, res.stderr);
          throw nonRetryable(
            FailureType.BaseNotUpdatable,
            `the base branch "${row.base}" is checked out in ${checkedOutIn} and git could not update that working tree ` +
              `(${res.stderr.trim()}): move the files in the way`,
            { worktree: checkedOutIn },
          );
        }
      } else {
        // Compare-and-swap: if the base moved since it was read, this fails and the retry merges onto the new tip.
        await git(repository, ['update-ref', '-m', `swarmflow: merge PR #${number}`, ref(row.base), mergeSha, baseSha]);
      }
      await markMerged(row, headSha, mergeSha);
      return { mergeSha, alreadyMerged: false };
    },

    async closePr(input: { repository: string; number: number }): Promise<PullRequest> {
      const { repository, number } = parseInput(PrRef, input, 'closePr');
      await assertRepository(repository);
      await findPr(repository, number);
      await db.query(`UPDATE local_prs SET state = 'closed', closed_at = now(), updated_at = now() WHERE repository = $1 AND number = $2 AND state = 'open'`, [
        repository,
        number,
      ]);
      const row = await findPr(repository, number);
      return toPullRequest(row, await headOf(repository, row));
    },
  };
}

export type LocalForge = ReturnType<typeof createLocalForge>;
