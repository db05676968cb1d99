// `ruff check`: the concise format `src/app.py:1:8: F401 [*] \`os\` imported but unused`, the
// full format before 0.12 (the same line, then a code frame) and from 0.12
// (`F401 [*] \`os\` imported but unused` then ` --> src/app.py:1:8`), closed by `Found 2 errors.`
import type { ParsedFailure } from '../types.ts';
import { capped, failure, repoPath } from './common.ts';

export const detectRuff = (text: string) => /^\S+\.pyi?:\d+:\d+: [A-Z]+\d+ /m.test(text) || (/^[A-Z]+\d+ .*\n\s*--> \S+\.pyi?:\d+:\d+/m.test(text) && /^Found \d+ errors?\./m.test(text));

const CONCISE = /^(\S+\.pyi?):(\d+):\d+: ([A-Z]+\d+) (?:\[\*\] )?(.*)$/;
const HEADED = /^([A-Z]+\d+) (?:\[\*\] )?(.*)$/;
const ARROW = /^\s*--> (\S+\.pyi?):(\d+):\d+/;

export function parseRuff(text: string, root?: string): ParsedFailure[] {
  const lines = text.split('\n');
  const out: ParsedFailure[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const concise = CONCISE.exec(line);
    if (concise?.[1]) {
      out.push(failure({ file: repoPath(concise[1], root), line: Number(concise[2]), rule: concise[3], message: concise[4] ?? '' }));
      continue;
    }
    const headed = HEADED.exec(line);
    const arrow = headed ? ARROW.exec(lines[i + 1] ?? '') : null;
    if (headed?.[1] && arrow?.[1]) out.push(failure({ file: repoPath(arrow[1], root), line: Number(arrow[2]), rule: headed[1], message: headed[2] ?? '' }));
  }
  return capped(out);
}
