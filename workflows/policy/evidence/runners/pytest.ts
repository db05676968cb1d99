// pytest: the "short test summary info" lists `FAILED tests/x.py::test_y - AssertionError: …`
// (and `ERROR …` for errors in fixtures or collection); the FAILURES section above it has one
// `____ test_y ____` block per failure with the source (`>` marks the failing line), the `E` lines
// of the assertion and the location `tests/x.py:14: AssertionError`.
import type { ParsedFailure } from '../types.ts';
import { BLOCK_LINES, capped, failure, repoPath } from './common.ts';

export const detectPytest = (text: string) => /^=+ (?:test session starts|FAILURES|short test summary info|ERRORS) =+$/m.test(text) || /^(?:FAILED|ERROR) \S+\.py(?:::\S+)?(?: - |$)/m.test(text);

const SUMMARY = /^(FAILED|ERROR) (\S+?\.py)(?:::(\S+))?(?: - (.*))?$/;
const BLOCK = /^_{3,} (?:ERROR (?:at \w+ of |collecting ))?(.+?) _{3,}$/;
const LOCATION = /^(\S+\.py):(\d+): (\w+)/;

interface Block {
  line?: number;
  file?: string;
  frame: string[];
  assertion: string[];
  error?: string;
}

export function parsePytest(text: string, root?: string): ParsedFailure[] {
  const lines = text.split('\n');
  const blocks = failureBlocks(lines);
  const out: ParsedFailure[] = [];
  for (const line of lines) {
    const s = SUMMARY.exec(line);
    if (!s?.[2]) continue;
    const name = s[3]?.replace(/::/g, '.');
    const b = name ? (blocks.get(name) ?? blocks.get(name.split('.').at(-1) ?? '')) : blocks.get(s[2]);
    const message = s[4] ?? b?.assertion[0] ?? b?.error ?? s[1] ?? 'failed';
    // The summary repeats the first `E` line: the assertion is what follows it.
    const assertion = b?.assertion[0]?.trim() === message.trim() ? b.assertion.slice(1) : b?.assertion;
    out.push(
      failure({
        test: s[3] ? `${s[2]}::${s[3]}` : undefined,
        file: repoPath(b?.file ?? s[2], root),
        line: b?.line,
        message,
        assertion: assertion?.join('\n'),
        frame: b?.frame.join('\n'),
      }),
    );
  }
  // Without the summary (`-r N`), the blocks themselves.
  if (out.length === 0) for (const [name, b] of blocks) out.push(failure({ test: name, file: b.file && repoPath(b.file, root), line: b.line, message: b.assertion[0] ?? b.error ?? 'failed', assertion: b.assertion.slice(1).join('\n'), frame: b.frame.join('\n') }));
  return capped(out);
}

/** FAILURES/ERRORS blocks by the name in their header (`test_y`, `TestX.test_y`, `test_y[1-2]`). */
function failureBlocks(lines: string[]): Map<string, Block> {
  const blocks = new Map<string, Block>();
  for (let i = 0; i < lines.length; i++) {
    const head = BLOCK.exec(lines[i] ?? '');
    if (!head?.[1]) continue;
    const b: Block = { frame: [], assertion: [] };
    for (i++; i < lines.length && !BLOCK.test(lines[i] ?? '') && !/^=+ .* =+$/.test(lines[i] ?? ''); i++) {
      const line = lines[i] ?? '';
      if (b.frame.length + b.assertion.length > BLOCK_LINES) continue;
      const loc = LOCATION.exec(line);
      if (/^E {1,}/.test(line)) b.assertion.push(line.replace(/^E {1,}/, ''));
      // `path:line: in <module>` is a traceback step; the last one in the repository (not /usr/lib) is the place.
      else if (loc && !loc[1]?.startsWith('/')) Object.assign(b, { file: loc[1], line: Number(loc[2]), ...(loc[3] === 'in' ? {} : { error: loc[3] }) });
      else if (loc) continue;
      else if (b.assertion.length === 0 && line.trim()) b.frame.push(line);
    }
    i--;
    blocks.set(head[1], b);
  }
  return blocks;
}
