// node:test, both reporters Node 20 ships:
//   tap   `not ok 1 - name` followed by a YAML block (`location: '<file>:line:col'`,
//         `error: |-` with the assertion's text, `expected`/`actual`/`operator`), nested by indent;
//   spec  `✖ name (1ms)` followed by the indented error and its stack; at the end a
//         "✖ failing tests:" section repeats each failure under `test at <file>:line:col`.
// A suite fails when a subtest does ("1 subtest failed"): only the subtests are failures.
import type { ParsedFailure } from '../types.ts';
import { BLOCK_LINES, capped, dedent, failure, repoPath } from './common.ts';

export const detectNodeTest = (text: string) => (/^TAP version \d+/m.test(text) && /^\s*not ok \d+/m.test(text)) || /^ℹ (?:tests|fail) \d+/m.test(text);

const SUITE_ONLY = /^'?\d+ subtests? failed'?$|subtestsFailed/;
const indent = (l: string) => /^ */.exec(l)?.[0].length ?? 0;

export function parseNodeTest(text: string, root?: string): ParsedFailure[] {
  return capped(/^TAP version \d+/m.test(text) ? parseTap(text.split('\n'), root) : parseSpec(text.split('\n'), root));
}

function parseTap(lines: string[], root?: string): ParsedFailure[] {
  const out: ParsedFailure[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)not ok \d+ - (.+?)(?:\s+#\s*(?:TODO|SKIP).*)?$/.exec(lines[i] ?? '');
    if (!head?.[2] || /#\s*(?:TODO|SKIP)/.test(lines[i] ?? '')) continue;
    const yaml: string[] = [];
    if ((lines[i + 1] ?? '').trim() === '---') {
      for (i += 2; i < lines.length && (lines[i] ?? '').trim() !== '...'; i++) yaml.push(lines[i] ?? '');
    }
    const fields = yamlFields(yaml.slice(0, BLOCK_LINES));
    if (SUITE_ONLY.test(fields.get('failureType') ?? '') || SUITE_ONLY.test(fields.get('error') ?? '')) continue;
    const loc = /^'?(.+?):(\d+):\d+'?$/.exec(fields.get('location') ?? '');
    // A one-line error is a quoted YAML scalar; a block (`|-`) is the text as it is.
    const raw = fields.get('error') ?? head[2];
    const error = /^'[^\n]*'$/.test(raw) ? raw.slice(1, -1) : raw;
    const [message = head[2], ...rest] = error.split('\n').filter((l, n) => n === 0 || l.trim());
    const compared = ['expected', 'actual', 'operator'].filter((k) => fields.has(k)).map((k) => `${k}: ${fields.get(k)}`);
    out.push(failure({ test: head[2], file: loc ? repoPath(loc[1] ?? '', root) : undefined, line: loc ? Number(loc[2]) : undefined, message, assertion: [...rest, ...compared].join('\n') }));
  }
  return out;
}

/** The top-level keys of a TAP diagnostic block; `key: |-` takes the more-indented lines after it. */
function yamlFields(lines: string[]): Map<string, string> {
  const fields = new Map<string, string>();
  const base = lines.find((l) => l.trim()) ?? '';
  const width = indent(base);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const kv = /^\s*(\w+):\s?(.*)$/.exec(line);
    if (!kv?.[1] || indent(line) !== width) continue;
    if (/^[|>]-?$/.test(kv[2] ?? '')) {
      const block: string[] = [];
      for (i++; i < lines.length && (!(lines[i] ?? '').trim() || indent(lines[i] ?? '') > width); i++) block.push(lines[i] ?? '');
      i--;
      fields.set(kv[1], dedent(block).trim());
    } else fields.set(kv[1], (kv[2] ?? '').trim());
  }
  return fields;
}

const SPEC_FAIL = /^(\s*)✖ (.+?)(?: \([\d.]+m?s\))?\s*$/;
const STACK = /\(?((?:file:\/\/)?\/[^\s()]+|[\w./-]+\.[cm]?[jt]s):(\d+):\d+\)?\s*$/;

function parseSpec(lines: string[], root?: string): ParsedFailure[] {
  const start = lines.findIndex((l) => /^✖ failing tests:/.test(l));
  // The summary section, when printed, holds each failure once with its location; the streamed part repeats them.
  const from = start >= 0 ? start + 1 : 0;
  const out: ParsedFailure[] = [];
  let at: RegExpExecArray | null = null;
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const located = /^test at (.+?):(\d+):\d+\s*$/.exec(line);
    if (located) at = located;
    const head = SPEC_FAIL.exec(line);
    if (!head?.[2] || (start < 0 && /^✖ failing tests:/.test(line))) continue;
    const body: string[] = [];
    for (i++; i < lines.length && (!(lines[i] ?? '').trim() || indent(lines[i] ?? '') > (head[1]?.length ?? 0)); i++) body.push(lines[i] ?? '');
    i--;
    const text = dedent(body.slice(0, BLOCK_LINES)).split('\n');
    const stackAt = text.findIndex((l) => /^\s+at /.test(l));
    const [message = head[2], ...detail] = text.slice(0, stackAt < 0 ? text.length : stackAt).filter((l) => l.trim() && !/^\s*[{}]\s*$/.test(l));
    if (SUITE_ONLY.test(message.trim())) continue;
    const frame = text.map((l) => (/^\s+at /.test(l) ? STACK.exec(l) : null)).find((m) => m && !/node:|node_modules/.test(m[1] ?? ''));
    const loc = at ?? frame;
    out.push(failure({ test: head[2], file: loc ? repoPath(loc[1] ?? '', root) : undefined, line: loc ? Number(loc[2]) : undefined, message, assertion: detail.join('\n') }));
    at = null;
  }
  return out;
}
