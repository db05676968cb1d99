import { randomUUID } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
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

/** The file opened for reading only if it is a regular file (not a link, not a FIFO); undefined when missing or not one. */
function openRegularFile(file: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
  let regular = false;
  try {
    regular = fstatSync(fd).isFile();
  } finally {
    if (!regular) closeSync(fd);
  }
  return regular ? fd : undefined;
}

/**
 * A file in the agent's reach, read only as the regular file it should be: undefined when it is
 * missing, a symlink (it could point at anything of ours) or not a regular file (a FIFO would block
 * a plain read, and the worker's event loop with it, for good).
 */
export function readRegularFile(file: string): string | undefined {
  const fd = openRegularFile(file);
  if (fd === undefined) return undefined;
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The whole lines a growing file (a running CLI's events) gained past byte `offset`, read as
 * readRegularFile reads, and the offset after them: a line still being written waits for the next
 * read. At most `maxBytes` are read at a time; a file that shrank (replaced) is read from its start.
 */
export function readNewLines(file: string, offset: number, maxBytes = 4 * 1024 * 1024): { lines: string[]; offset: number } {
  const fd = openRegularFile(file);
  if (fd === undefined) return { lines: [], offset };
  try {
    const size = fstatSync(fd).size;
    const from = size < offset ? 0 : offset;
    const buffer = Buffer.alloc(Math.min(size - from, maxBytes));
    const read = readSync(fd, buffer, 0, buffer.length, from);
    const end = buffer.subarray(0, read).lastIndexOf(0x0a);
    // One line longer than maxBytes is skipped whole rather than read forever.
    if (end < 0) return { lines: [], offset: read === maxBytes ? from + read : from };
    return { lines: buffer.subarray(0, end).toString('utf8').split('\n'), offset: from + end + 1 };
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
