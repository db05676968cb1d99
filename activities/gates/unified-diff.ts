// Reads `git diff -M -U0` output into files and their added and removed lines. Pure: the gates
// judge the diff of the task branch against its merge-base, and tests feed it real git output.

export interface DiffLine {
  /** Line number in the new file (added) or the old file (removed). */
  line: number;
  text: string;
}

export interface DiffFile {
  status: 'added' | 'deleted' | 'modified' | 'renamed';
  /** The path on the head (for a deleted file, the path it had). */
  path: string;
  /** The path on the base, when it differs (renamed). */
  oldPath?: string;
  added: DiffLine[];
  removed: DiffLine[];
}

/** A path as git prints it: plain, or C-quoted ("a\tb", octal escapes for other bytes). */
function unquote(raw: string): string {
  if (!raw.startsWith('"')) return raw;
  const bytes: number[] = [];
  const body = raw.slice(1, -1);
  const escapes: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c));
      continue;
    }
    const next = body[++i]!;
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else bytes.push(escapes[next] ?? next.charCodeAt(0));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `a/x` or `"a/x"` without its a/ or b/ prefix; undefined for /dev/null. */
function sidePath(raw: string): string | undefined {
  const path = unquote(raw.trim());
  return path === '/dev/null' ? undefined : path.slice(2);
}

export function parseUnifiedDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let inHunks = false;
  let oldLine = 0;
  let newLine = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff --git ')) {
      // `a/<p> b/<p>`: the path when no later header names it (an empty new file, a mode change).
      const names = line.slice('diff --git '.length);
      const same = names.startsWith('a/') && names.length % 2 === 1 ? names.slice(2, (names.length - 1) / 2) : '';
      file = { status: 'modified', path: names === `a/${same} b/${same}` ? same : '', added: [], removed: [] };
      files.push(file);
      inHunks = false;
      continue;
    }
    if (!file) continue;
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      inHunks = true;
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      continue;
    }
    if (!inHunks) {
      if (line.startsWith('new file mode')) file.status = 'added';
      else if (line.startsWith('deleted file mode')) file.status = 'deleted';
      else if (line.startsWith('rename from ')) {
        file.status = 'renamed';
        file.oldPath = unquote(line.slice('rename from '.length));
      } else if (line.startsWith('rename to ')) file.path = unquote(line.slice('rename to '.length));
      else if (line.startsWith('--- ')) {
        const old = sidePath(line.slice(4));
        if (old) file.path = old;
      } else if (line.startsWith('+++ ')) {
        const path = sidePath(line.slice(4));
        if (path) file.path = path;
      }
      continue;
    }
    if (line.startsWith('+')) file.added.push({ line: newLine++, text: line.slice(1) });
    else if (line.startsWith('-')) file.removed.push({ line: oldLine++, text: line.slice(1) });
  }
  return files;
}
