// The diff's files against the task's hinted scope (hints.files, plus expected tests that name a
// file). Precisely:
//   inside  the file is a hinted path, or lies under a hinted path that names a folder ("src/ui/");
//   near    not inside, but its leading directories share at least `minSharedDirs` (default 1)
//           segments with the directories of some hinted path ("src/ui/a.ts" is near "src/b.ts");
//   far     neither: it shares no directory prefix with any hinted path. A file at the
//           repository's root has no directory, so it is far unless hinted itself.
// The attempt went in the wrong direction when far files are more than half of the changed files:
// one stray edit (a lockfile, a README line) beside the real work is no change of course.
export interface ScopeReading {
  inside: string[];
  near: string[];
  far: string[];
  /** False when there is no hinted path or no changed file to judge. */
  judged: boolean;
  wrongDirection: boolean;
}

/** A hint that names a file, not a sentence: expected tests are often prose ("parses dates"). */
const PATH_LIKE = /^[\w@.-]+(?:\/[\w@.[\]-]+)*\/?$/;

export function scopePaths(hints: { files: string[]; expectedTests?: string[] }): string[] {
  const tests = (hints.expectedTests ?? []).map((t) => t.trim().split(/\s|::/, 1)[0] ?? '').filter((t) => PATH_LIKE.test(t) && /\/|\.\w+$/.test(t));
  return [...new Set([...hints.files, ...tests].map(normal).filter(Boolean))];
}

export function readScope(changed: string[], hinted: string[], minSharedDirs = 1): ScopeReading {
  const scope = hinted.map(normal).filter(Boolean);
  const files = [...new Set(changed.map(normal).filter(Boolean))];
  const reading: ScopeReading = { inside: [], near: [], far: [], judged: scope.length > 0 && files.length > 0, wrongDirection: false };
  if (!reading.judged) return reading;
  for (const file of files) {
    if (scope.some((s) => file === s || (s.endsWith('/') && file.startsWith(s)))) reading.inside.push(file);
    else if (scope.some((s) => sharedDirs(dirsOf(file), dirsOf(s)) >= minSharedDirs)) reading.near.push(file);
    else reading.far.push(file);
  }
  reading.wrongDirection = reading.far.length * 2 > files.length;
  return reading;
}

const normal = (path: string) => path.trim().replace(/^\.\//, '');

/** A path's folders: "src/ui/a.ts" → [src, ui]; a hint ending in "/" is a folder itself. */
function dirsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return path.endsWith('/') ? parts : parts.slice(0, -1);
}

function sharedDirs(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}
