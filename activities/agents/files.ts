import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
 * The JSON objects of a JSONL file (a CLI's events, a TUI's session file); none when it is missing.
 * A stray non-JSON line, or one cut short by a kill, is skipped.
 */
export function readJsonLines(file: string): unknown[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  const objects: unknown[] = [];
  for (const line of lines) {
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
