// Helpers the runner parsers share: paths as the repository sees them, bounded excerpts.
import { headOf } from '../../text.ts';
import { MAX_FAILURES, type ParsedFailure } from '../types.ts';

/** Caps on what one failure carries: the next prompt quotes it, it never dumps it. */
export const FAILURE_LIMITS = { messageChars: 300, assertionChars: 800, frameChars: 800 } as const;

/**
 * A path as the repository names it: `file://` and `./` dropped and, for an absolute path, the
 * part after the checkout's root. CI checkouts live at `<…>/<repo>/<repo>/` (GitHub Actions) or
 * the worktree given as `root`; without either we keep the path from its first well-known source
 * folder, else the absolute path (a classifier must not invent a file).
 */
export function repoPath(raw: string, root?: string): string {
  let path = raw.trim().replace(/^file:\/\//, '').replace(/^\.\//, '');
  if (root && path.startsWith(`${root.replace(/\/$/, '')}/`)) return path.slice(root.replace(/\/$/, '').length + 1);
  if (!path.startsWith('/')) return path;
  const actions = /^\/home\/runner\/work\/([^/]+)\/\1\/(.+)$/.exec(path);
  if (actions?.[2]) return actions[2];
  const known = /\/((?:src|lib|test|tests|spec|app|packages|internal|cmd|pkg|workflows|activities|client)\/.+)$/.exec(path);
  if (known?.[1]) path = known[1];
  return path;
}

/** A failure with its texts capped and empty fields left out (golden files stay stable). */
export function failure(f: ParsedFailure): ParsedFailure {
  const out: ParsedFailure = { message: headOf(f.message.trim(), FAILURE_LIMITS.messageChars) };
  if (f.test) out.test = f.test.trim();
  if (f.file) out.file = f.file;
  if (f.line !== undefined && Number.isFinite(f.line)) out.line = f.line;
  const assertion = f.assertion?.trim();
  if (assertion) out.assertion = headOf(assertion, FAILURE_LIMITS.assertionChars);
  if (f.rule) out.rule = f.rule;
  const frame = f.frame?.replace(/^\n+|\s+$/g, '');
  if (frame) out.frame = headOf(frame, FAILURE_LIMITS.frameChars);
  return out;
}

/** At most MAX_FAILURES, in the order the runner printed them. */
export const capped = (failures: ParsedFailure[]) => failures.slice(0, MAX_FAILURES);

/** Common leading whitespace removed from a block of lines. */
export function dedent(lines: string[]): string {
  // A block's head is what gets quoted; a runaway block must not cost a pass over all of it.
  const head = lines.slice(0, BLOCK_LINES);
  const cut = head.filter((l) => l.trim()).reduce((min, l) => Math.min(min, /^ */.exec(l)?.[0].length ?? 0), Infinity);
  return head.map((l) => l.slice(Number.isFinite(cut) ? cut : 0)).join('\n');
}

/** Lines of one failure block we look at. */
export const BLOCK_LINES = 200;
