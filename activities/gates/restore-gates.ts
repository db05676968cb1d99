// CI runs the base's gates, never the head's: in a CI checkout of the head (a repository of ours,
// never the agent's clone), every gate file the head changed relative to the base is put back as
// the base has it, removed when the base has none, and the three manifests get the base's gate
// parts with the head's dependencies (gate-files.ts). The checks then run the head's code under
// the base's configuration, so a test script turned into `true` or a lowered threshold does not count.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileAt, git } from '../git.ts';
import { gateFileKind, manifestOf, withBaseGates } from './gate-files.ts';

/** Paths are data, never pathspec magic (`:(glob)`, `*`). */
const LITERAL = { GIT_LITERAL_PATHSPECS: '1' };

/** A new regular file: a symlink the head put at that path is replaced, never followed. */
function replaceFile(file: string, text: string): void {
  rmSync(file, { force: true });
  writeFileSync(file, text, { flag: 'wx' });
}

/** Puts the base's gate definitions into `checkout` (which holds both commits, the head checked out); returns the paths it changed. */
export async function restoreBaseGates(checkout: string, baseSha: string, headSha: string): Promise<string[]> {
  const { stdout } = await git(checkout, ['diff', '--name-only', '--no-renames', '-z', baseSha, headSha]);
  const restored: string[] = [];
  for (const path of stdout.split('\0').filter(Boolean)) {
    const manifest = manifestOf(path);
    if (!gateFileKind(path) && !manifest) continue;
    const file = join(checkout, path);
    const base = await fileAt(checkout, baseSha, path);
    const head = await fileAt(checkout, headSha, path);
    if (manifest && head !== undefined) replaceFile(file, withBaseGates(manifest, head, base));
    else if (base === undefined) rmSync(file, { force: true });
    // checkout, not a write of the text: the base's mode (an executable hook) and bytes come with it.
    else await git(checkout, ['checkout', '--quiet', baseSha, '--', path], { env: LITERAL });
    restored.push(path);
  }
  return restored;
}
