// Vitest's default reporter: after "Failed Tests N", one block per failure headed
// ` FAIL  <file> > suite > test`, then the error (`AssertionError: expected 4 to be 3`), its diff,
// the location (` ❯ <file>:line:col`) and a code frame (`  5| …`, `   |  ^`), closed by a `⎯` rule.
import type { ParsedFailure } from '../types.ts';
import { BLOCK_LINES, capped, dedent, failure, repoPath } from './common.ts';

export const detectVitest = (text: string) => /^\s*RUN\s+v\d|^\s*Test Files\s+\d|⎯{3,}/m.test(text) && /^\s*(?:FAIL|×|✗)\s/m.test(text);

const HEADER = /^\s*FAIL\s+(\S+)\s+>\s+(.+?)\s*$/;
const LOCATION = /^\s*❯\s+(\S+?):(\d+):\d+/;
const FRAME = /^\s*\d+\|/;
const CARET = /^\s+\|\s*\^/;
const RULE = /^\s*⎯{3,}/;

export function parseVitest(text: string, root?: string): ParsedFailure[] {
  const lines = text.split('\n');
  const out: ParsedFailure[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = HEADER.exec(lines[i] ?? '');
    if (!header?.[1] || !header[2]) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !RULE.test(lines[i] ?? '') && !HEADER.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
    i--;
    const head = body.slice(0, BLOCK_LINES);
    const locAt = head.findIndex((l) => LOCATION.test(l));
    const loc = locAt < 0 ? undefined : LOCATION.exec(head[locAt] ?? '');
    const [message = header[2], ...detail] = dedent(head.slice(0, locAt < 0 ? head.length : locAt)).trim().split('\n');
    const frame = locAt < 0 ? undefined : dedent(head.slice(locAt + 1).filter((l) => FRAME.test(l) || CARET.test(l)));
    out.push(
      failure({
        test: header[2].replace(/\s+>\s+/g, ' › '),
        file: repoPath(loc?.[1] ?? header[1], root),
        line: loc ? Number(loc[2]) : undefined,
        message,
        assertion: detail.join('\n'),
        frame,
      }),
    );
  }
  return capped(out);
}
