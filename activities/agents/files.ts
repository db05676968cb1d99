import { randomUUID } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Written beside, then renamed into place: a reader never sees half a file. Owner-only. The file
 * beside it is new ('wx'): a symlink planted under a name we would write through is never followed.
 */
export function writeFileAtomic(path: string, text: string): void {
  const staged = `${path}.${randomUUID()}.tmp`;
  writeFileSync(staged, text, { mode: 0o600, flag: 'wx' });
  renameSync(staged, path);
}

/**
 * A file in the agent's reach, read only as the regular file it should be: undefined when it is
 * missing, a symlink (it could point at anything of ours) or not a regular file (a FIFO would block
 * a plain read, and the worker's event loop with it, for good).
 */
export function readRegularFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, 'utf8') : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The JSON objects of a JSONL file (a CLI's events, a TUI's session file); none when it is missing
 * or not a regular file. A stray non-JSON line, or one cut short by a kill, is skipped.
 */
export function readJsonLines(file: string): unknown[] {
  return parseJsonLines(readRegularFile(file) ?? '');
}

/** The JSON objects of a text, one a line; other lines (a CLI's banner, a line cut short) are skipped. */
export function parseJsonLines(text: string): unknown[] {
  const objects: unknown[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      objects.push(JSON.parse(line));
    } catch {
      // cut short
    }
  }
  return objects;
}

/** Every `.jsonl` file under `dir`, at any depth, in path order; none when it is missing. */
export function jsonlFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.jsonl'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}
