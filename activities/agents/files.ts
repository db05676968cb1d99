import { renameSync, writeFileSync } from 'node:fs';

/** Written beside, then renamed into place: a reader never sees half a file. Owner-only. */
export function writeFileAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
