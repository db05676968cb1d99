// One reviewer: an argv (never a shell) that reads the diff on stdin and prints
// `{"findings": [...]}` on stdout. Whatever goes wrong — a malformed reply, a non-zero exit, a
// timeout, a command that does not start — becomes a failed result with the precise reason:
// a broken reviewer blocks the Definition of Done, it does not crash the task.
import { execa } from 'execa';
import type { z } from 'zod';
import { tailOf } from '../../workflows/policy/text.ts';
import { FindingsReplySchema, type ReviewerResult } from '../../workflows/task/types.ts';
import { stopGroupOnTimeoutOrAbort } from '../../lib/process.ts';
import { minimalEnv } from '../minimal-env.ts';

export interface ReviewerCommand {
  name: string;
  command: string[];
  timeoutMs: number;
}

/** The largest valid reply (200 findings of 4,000 characters) fits; a runaway reviewer does not. */
const MAX_REPLY_BYTES = 2_000_000;


/** After SIGTERM, how long a reviewer's process group gets before SIGKILL. */
const KILL_GRACE_MS = 2_000;

export async function runReviewer({ name, command, timeoutMs }: ReviewerCommand, diff: string, cwd: string, cancelSignal?: AbortSignal): Promise<ReviewerResult> {
  const [file, ...args] = command;
  if (!file) return failed(name, 'empty command');
  const child = execa(file, args, {
    cwd,
    input: diff,
    // Reviewers see the diff, not the worker's secrets.
    env: minimalEnv(),
    extendEnv: false,
    // Its own process group: a timeout or a stopped task kills what the reviewer started too (a
    // child left holding its stdout would keep the activity waiting for it).
    detached: true,
    maxBuffer: MAX_REPLY_BYTES,
    reject: false,
    stripFinalNewline: true,
  });
  const guard = stopGroupOnTimeoutOrAbort(child.pid, { timeoutMs, graceMs: KILL_GRACE_MS, signal: cancelSignal });
  const res = await child;
  const stopped = guard.finish();
  if (stopped === 'timeout') return failed(name, `timed out after ${timeoutMs} ms`);
  if (stopped === 'cancelled') return failed(name, 'stopped: the task was stopped');
  if (res.isMaxBuffer) return failed(name, `wrote more than ${MAX_REPLY_BYTES} bytes`);
  // No exit code: it did not start (ENOENT) or a signal killed it; execa says which.
  if (res.exitCode === undefined) return failed(name, res.shortMessage?.split('\n', 1)[0] ?? 'did not complete');
  if (res.exitCode !== 0) {
    const said = tailOf(res.stderr.trim().split('\n').slice(-3).join(' / '), 500);
    return failed(name, `exited with code ${res.exitCode}${said ? `: ${said}` : ''}`);
  }
  return parseReply(name, res.stdout);
}

function parseReply(name: string, stdout: string): ReviewerResult {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (err) {
    return failed(name, `reply is not JSON (${(err as Error).message})`);
  }
  const parsed = FindingsReplySchema.safeParse(json);
  if (!parsed.success) return failed(name, `malformed reply: ${describeIssues(parsed.error.issues)}`);
  return { reviewer: name, status: 'ok', findings: parsed.data.findings };
}

/** "findings[0].severity: …; …" for the first few issues. */
function describeIssues(issues: z.core.$ZodIssue[]): string {
  const where = (path: PropertyKey[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('') || '(reply)';
  const shown = issues.slice(0, 3).map((i) => `${where(i.path)}: ${i.message}`);
  return issues.length > 3 ? `${shown.join('; ')}; and ${issues.length - 3} more` : shown.join('; ');
}

function failed(name: string, error: string): ReviewerResult {
  return { reviewer: name, status: 'failed', findings: [], error };
}
