// ESLint, two formatters:
//   stylish (the default)  a file's path on its own line, then `  3:7  error  <message>  <rule>`
//                          per problem, and `✖ 2 problems (1 error, 1 warning)`;
//   unix                   `<file>:3:7: <message> [Error/<rule>]`.
// Warnings fail a run only under --max-warnings ("ESLint found too many warnings"): then they count.
import type { ParsedFailure } from '../types.ts';
import { capped, failure, repoPath } from './common.ts';

export const detectEslint = (text: string) => /^✖ \d+ problems? \(\d+ errors?, \d+ warnings?\)/m.test(text) || /^\S+:\d+:\d+: .* \[(?:Error|Warning)(?:\/[^\]]+)?\]$/m.test(text);

const STYLISH = /^\s+(\d+):\d+\s+(error|warning)\s+(.+?)(?:\s{2,}(\S+))?\s*$/;
const UNIX = /^(\S.*?):(\d+):\d+: (.*) \[(Error|Warning)(?:\/([^\]]+))?\]$/;
const FILE = /^(?:\/|[\w.@-]+\/)?\S*\.\w+$/;

export function parseEslint(text: string, root?: string): ParsedFailure[] {
  const warningsCount = /ESLint found too many warnings/.test(text);
  const out: ParsedFailure[] = [];
  let file: string | undefined;
  for (const line of text.split('\n')) {
    const unix = UNIX.exec(line);
    if (unix?.[1]) {
      if (unix[4] === 'Error' || warningsCount) out.push(failure({ file: repoPath(unix[1], root), line: Number(unix[2]), message: unix[3] ?? '', rule: unix[5] }));
      continue;
    }
    if (FILE.test(line)) file = repoPath(line, root);
    const problem = STYLISH.exec(line);
    if (problem && file && (problem[2] === 'error' || warningsCount)) {
      out.push(failure({ file, line: Number(problem[1]), message: problem[3] ?? '', rule: problem[4] }));
    }
  }
  return capped(out);
}
