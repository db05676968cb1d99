// `go test` (with or without -v): `--- FAIL: TestX/sub (0.00s)` marks a failed test; its log lines
// (`    parse_test.go:14: got 0, want 1`) follow the `=== RUN` line (-v) or the `--- FAIL` line;
// `FAIL\t<package>\t0.004s` names the package, `FAIL\t<package> [build failed]` a package that did
// not compile, whose errors come as `<dir>/<file>.go:9:2: undefined: Foo`.
import type { ParsedFailure } from '../types.ts';
import { capped, failure, repoPath } from './common.ts';

export const detectGoTest = (text: string) => /^\s*--- FAIL: \S+ \(|^(?:FAIL|ok)\s+\S+\s+(?:[\d.]+s|\[build failed\]|\(cached\))/m.test(text);

const HEADER = /^\s*(?:=== (?:RUN|CONT|PAUSE)|--- (FAIL|PASS|SKIP):)\s+(\S+)/;
const LOG = /^\s+([\w.-]+\.go):(\d+): (.*)$/;
const PACKAGE = /^(?:FAIL|ok)\s+(\S+)\s/;
const BUILD_ERROR = /^(\S+\.go):(\d+):\d+: (.+)$/;

/**
 * A package's directory from its import path: a hosted module's path is `host/owner/repo`, so what
 * follows those three segments is the directory. Other modules keep the file's bare name.
 */
function dirOf(pkg: string | undefined): string | undefined {
  const hosted = pkg ? /^(?:github\.com|gitlab\.com|bitbucket\.org)\/[^/]+\/[^/]+\/(.+)$/.exec(pkg) : null;
  return hosted?.[1];
}

export function parseGoTest(text: string, root?: string): ParsedFailure[] {
  const lines = text.split('\n');
  const logs = new Map<string, { file: string; line: number; text: string[] }[]>();
  const failed: { test: string; pkgAt: number }[] = [];
  const out: ParsedFailure[] = [];
  let current: string | undefined;
  let lastLog: { file: string; line: number; text: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const head = HEADER.exec(line);
    const log = LOG.exec(line);
    const build = BUILD_ERROR.exec(line);
    if (head?.[2]) {
      current = head[2];
      lastLog = undefined;
      if (head[1] === 'FAIL') failed.push({ test: head[2], pkgAt: i });
    } else if (log && current) {
      lastLog = { file: log[1] ?? '', line: Number(log[2]), text: [log[3] ?? ''] };
      logs.set(current, [...(logs.get(current) ?? []), lastLog]);
    } else if (build?.[1] && !current) {
      out.push(failure({ file: repoPath(build[1], root), line: Number(build[2]), message: build[3] ?? '', assertion: 'the package did not compile' }));
    } else if (lastLog && /^\s{8,}\S/.test(line) && lastLog.text.length < 20) lastLog.text.push(line.trim());
    else if (/^(?:FAIL|ok|PASS)\b/.test(line)) current = undefined;
  }
  for (const { test, pkgAt } of failed) {
    const own = logs.get(test) ?? [];
    // A parent that failed only because a subtest did has nothing of its own to say.
    if (own.length === 0 && failed.some((f) => f.test.startsWith(`${test}/`))) continue;
    const pkg = lines.slice(pkgAt).map((l) => PACKAGE.exec(l)?.[1]).find(Boolean);
    const dir = dirOf(pkg);
    const first = own[0];
    const panic = lines.slice(Math.max(0, pkgAt - 3), pkgAt + 3).find((l) => /^panic: /.test(l));
    // A panic logs nothing: the goroutine's frame in a _test.go file (`\t/…/cache_test.go:31 +0x45`) places it.
    const frame = !first && panic ? lines.slice(pkgAt, pkgAt + 60).map((l) => /^\s+(\S+_test\.go):(\d+) \+0x/.exec(l)).find(Boolean) : undefined;
    out.push(
      failure({
        test,
        file: first ? repoPath(dir ? `${dir}/${first.file}` : first.file, root) : frame?.[1] ? repoPath(frame[1], root) : undefined,
        line: first?.line ?? (frame ? Number(frame[2]) : undefined),
        message: first?.text[0] ?? panic ?? 'failed',
        assertion: [...(first?.text.slice(1) ?? []), ...own.slice(1).flatMap((l) => [`${l.file}:${l.line}: ${l.text.join('\n')}`])].join('\n'),
      }),
    );
  }
  return capped(out);
}
