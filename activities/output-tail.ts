// The last lines of a command's output file, for evidence and the task's state: only the file's
// end is read, however large the log grew.
import { fstatSync, readSync } from 'node:fs';

const TAIL_LINES = 40;
const TAIL_BYTES = 64 * 1024;

/** The last 40 lines of an open file (at most its last 64 KiB). */
export function tailOfFd(fd: number): string {
  const size = fstatSync(fd).size;
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  readSync(fd, buffer, 0, length, size - length);
  return buffer.toString('utf8').trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
}
