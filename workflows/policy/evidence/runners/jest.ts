// Jest's default reporter: a `FAIL <file>` line per failed suite, then one `● Suite › test` block
// per failure: the matcher's message, its detail (Expected/Received, a snapshot diff), a code frame
// (`> 12 |` marks the failing line) and the stack (`at … (file:line:col)`).
import type { ParsedFailure } from '../types.ts';
import { BLOCK_LINES, capped, dedent, failure, repoPath } from './common.ts';

// Jest pads its coloured label (" FAIL  path"): once the escapes are gone, spaces remain.
export const detectJest = (text: string) => /^\s*(?:FAIL|PASS)\s+\S/m.test(text) && /^\s*● |^Tests:\s+\d/m.test(text);

const HEADER = /^\s*● (.+)$/;
const FRAME = /^\s*(?:>\s*)?\d+ \|/;
const CARET = /^\s+\|\s*\^/;
const STACK = /^\s+at .*?\(?((?:file:\/\/)?[^\s()]+?):(\d+):\d+\)?\s*$/;
const END = /^(?:Test Suites:|Tests:|Snapshot Summary|\s*› \d+ snapshots? (?:failed|written))|^\s*(?:FAIL|PASS)\s+\S/;

export function parseJest(text: string, root?: string): ParsedFailure[] {
  const lines = text.split('\n');
  const out: ParsedFailure[] = [];
  let suite: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fail = /^\s*FAIL\s+(\S+)/.exec(line);
    if (fail?.[1]) suite = repoPath(fail[1], root);
    const header = HEADER.exec(line);
    // `● Console` blocks are console.log output, not failures.
    if (!header?.[1] || /^Console\b/.test(header[1])) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !HEADER.test(lines[i] ?? '') && !END.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
    i--;
    out.push(block(header[1], body.slice(0, BLOCK_LINES), suite, root));
  }
  return capped(out);
}

function block(name: string, body: string[], suite: string | undefined, root?: string): ParsedFailure {
  const frameAt = body.findIndex((l) => FRAME.test(l));
  const stackAt = body.findIndex((l) => STACK.test(l));
  const textEnd = [frameAt, stackAt].filter((n) => n >= 0).reduce((a, b) => Math.min(a, b), body.length);
  const text = body.slice(0, textEnd).filter((l, n, all) => l.trim() || (n > 0 && all[n - 1]?.trim()));
  const [message = name, ...detail] = dedent(text).trim().split('\n');
  const frame = frameAt < 0 ? undefined : dedent(body.slice(frameAt).filter((l) => FRAME.test(l) || CARET.test(l)));
  // The first stack frame in the suite's own file, else the first outside node_modules.
  const frames = body.map((l) => STACK.exec(l)).filter((m): m is RegExpExecArray => !!m && !/node_modules|node:internal/.test(m[1] ?? ''));
  const at = frames.find((m) => repoPath(m[1] ?? '', root) === suite) ?? frames[0];
  const marked = frame ? /^>\s*(\d+) \|/m.exec(frame)?.[1] : undefined;
  // "Test suite failed to run" is the suite (a module it could not load, a syntax error), not a test.
  const isSuite = /^Test suite failed to run$/.test(name.trim());
  return failure({
    test: isSuite ? undefined : name,
    file: at ? repoPath(at[1] ?? '', root) : suite,
    line: at ? Number(at[2]) : marked ? Number(marked) : undefined,
    message,
    assertion: detail.join('\n'),
    frame,
  });
}
