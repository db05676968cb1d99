// The one git runner (activities/git.ts) against a repository whose config and hooks ask git to run
// programs, with canary secrets in the worker's environment: the switches it pins keep every one of
// them from running, and what git does start (a filter driver the repository's owner configured)
// sees the minimal environment only.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { git, gitEnv } from '../../activities/git.ts';
import { tempDir } from '../harness/paths.ts';

const CANARY = 'canary-secret-for-git-runner-41c9';
let saved: string | undefined;
beforeAll(() => {
  saved = process.env.GITHUB_TOKEN;
  process.env.GITHUB_TOKEN = CANARY;
});
afterAll(() => {
  if (saved === undefined) delete process.env.GITHUB_TOKEN;
  else process.env.GITHUB_TOKEN = saved;
});

/** A program that records it ran, and with what environment, as `<marks>/<name>.<pid>`. */
function planted(dir: string, marks: string, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n{ echo "${name} $*"; env; } > "${marks}/${name}.$$"\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A scratch folder with a fresh repository and an empty folder for the planted programs' marks. */
async function scratch(prefix: string): Promise<{ root: string; marks: string; repo: string }> {
  const root = tempDir(prefix);
  const marks = join(root, 'marks');
  mkdirSync(marks);
  const repo = join(root, 'repo');
  await git(root, ['init', '-q', '-b', 'main', repo]);
  return { root, marks, repo };
}

describe('git()', () => {
  it('runs no hook, fsmonitor, pager, helper, gpg or ssh command a repository configures', async () => {
    const { root, marks, repo } = await scratch('git-runner');
    const p = (name: string) => planted(root, marks, name);
    for (const hook of ['pre-commit', 'post-commit', 'reference-transaction', 'post-checkout', 'post-merge', 'pre-push', 'pre-auto-gc']) {
      writeFileSync(join(repo, '.git', 'hooks', hook), readFileSync(p(`hook-${hook}`)));
      chmodSync(join(repo, '.git', 'hooks', hook), 0o755);
    }
    const config: Array<[string, string]> = [
      ['core.fsmonitor', p('fsmonitor')],
      ['core.pager', p('pager')],
      ['core.askPass', p('askpass')],
      ['core.sshCommand', p('ssh')],
      ['credential.helper', p('credential')],
      ['gpg.program', p('gpg')],
      ['commit.gpgSign', 'true'],
      ['gc.auto', '1'],
      ['gc.autoDetach', 'false'],
    ];
    for (const [key, value] of config) await execa('git', ['config', key, value], { cwd: repo });

    writeFileSync(join(repo, 'a.txt'), 'a\n');
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '-q', '-m', 'one']);
    await git(repo, ['checkout', '-q', '-b', 'other']);
    writeFileSync(join(repo, 'b.txt'), 'b\n');
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '-q', '-m', 'two']);
    await git(repo, ['checkout', '-q', 'main']);
    await git(repo, ['merge', '-q', '--no-edit', 'other']);
    await git(repo, ['status']);
    await git(repo, ['log', '-p']);
    // Over ssh (its command) and an ext:: transport (any command): both refused, nothing started.
    expect((await git(repo, ['fetch', 'ssh://example.invalid/repo.git'], { allowFailure: true })).exitCode).not.toBe(0);
    expect((await git(repo, ['fetch', `ext::${p('ext')}`], { allowFailure: true })).exitCode).not.toBe(0);
    expect(readdirSync(marks)).toEqual([]);
  });

  it("gives git, and anything it starts, a minimal environment: no secret of the worker's, a HOME of its own", async () => {
    const { root, marks, repo } = await scratch('git-runner-env');
    // A filter driver the repository's owner configured runs (git cannot be told to skip one by name): it sees our env only.
    await execa('git', ['config', 'filter.owner.clean', planted(root, marks, 'filter')], { cwd: repo });
    writeFileSync(join(repo, '.gitattributes'), '*.txt filter=owner\n');
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    await git(repo, ['add', '-A']);
    const [mark] = readdirSync(marks);
    const seen = readFileSync(join(marks, mark!), 'utf8');
    expect(seen).not.toContain(CANARY);
    const home = gitEnv().HOME!;
    expect(seen).toContain(`HOME=${home}`);
    expect(home).not.toBe(process.env.HOME);
    expect(readdirSync(home)).toEqual([]);
    const names = seen.split('\n').filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
    expect(names.filter((n) => !n.startsWith('GIT_') && !['PATH', 'HOME', 'LC_ALL', 'PWD', 'SHLVL', '_', 'OLDPWD'].includes(n))).toEqual([]);
  });
});
