// tsc: `src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.` (the
// format without a TTY, as in CI) or, with --pretty, `src/a.ts:3:5 - error TS2322: …`; indented
// lines after it elaborate (which property, which overload).
import type { ParsedFailure } from '../types.ts';
import { capped, failure, repoPath } from './common.ts';

const PLAIN = /^(\S.*?)\((\d+),\d+\): error (TS\d+): (.*)$/;
const PRETTY = /^(\S.*?):(\d+):\d+ - error (TS\d+): (.*)$/;

export const detectTsc = (text: string) => /^\S.*?(?:\(\d+,\d+\): | ?:\d+:\d+ - )error TS\d+: /m.test(text);

export function parseTsc(text: string, root?: string): ParsedFailure[] {
  const lines = text.split('\n');
  const out: ParsedFailure[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = PLAIN.exec(lines[i] ?? '') ?? PRETTY.exec(lines[i] ?? '');
    if (!m?.[1]) continue;
    const more: string[] = [];
    // Elaborations are indented; a pretty code frame (`3   const x…`, `    ~~~`) is not one.
    while (/^ {2}\S/.test(lines[i + 1] ?? '') && more.length < 10) more.push((lines[++i] ?? '').trim());
    out.push(failure({ file: repoPath(m[1], root), line: Number(m[2]), rule: m[3], message: m[4] ?? '', assertion: more.join('\n') }));
  }
  return capped(out);
}
