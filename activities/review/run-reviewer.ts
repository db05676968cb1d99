// One reviewer: an argv (never a shell) that reads the diff on stdin and prints
// `{"findings": [...]}` on stdout. Whatever goes wrong — a malformed reply, a non-zero exit, a
// timeout, a command that does not start — becomes a failed result with the precise reason:
// a broken reviewer blocks the Definition of Done, it does not crash the task. The process
// handling and the reply's validation are shared with the CLI reviewers (cli-reviewer.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import type { z } from 'zod';
import { tailOf } from '../../workflows/policy/text.ts';
import { FindingsReplySchema, type CliReviewer, type CommandReviewer, type ReviewerResult } from '../../workflows/task/types.ts';
import { stopGroupOnTimeoutOrAbort } from '../../lib/process.ts';
import { FailureType } from '../errors.ts';
import { minimalEnv } from '../minimal-env.ts';
import { withSandbox, type SandboxedProcess, type SandboxedRun, type SandboxSettings } from '../agents/sandboxed.ts';
import type { HeldKey } from '../agents/egress/plan.ts';
import { REVIEWER_UID } from '../agents/sandbox.ts';

/** The largest valid reply (200 findings of 4,000 characters) fits; a runaway reviewer does not. */
const MAX_REPLY_BYTES = 2_000_000;

/** After SIGTERM, how long a reviewer's process group gets before SIGKILL. */
const KILL_GRACE_MS = 2_000;

export interface ReviewProcess {
  argv: string[];
  cwd: string;
  input: string;
  env: Record<string, string>;
  timeoutMs: number;
  cancelSignal?: AbortSignal;
}

export type ProcessEnd = { ok: true; stdout: string; stderr: string; exitCode: number } | { ok: false; error: string };

/** Runs one reviewer process (argv, never a shell) to its end; a non-zero exit is for the caller to judge. */
export async function runReviewProcess({ argv, cwd, input, env, timeoutMs, cancelSignal }: ReviewProcess): Promise<ProcessEnd> {
  const [file, ...args] = argv;
  if (!file) return { ok: false, error: 'empty command' };
  const child = execa(file, args, {
    cwd,
    input,
    env,
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
  if (stopped === 'timeout') return { ok: false, error: `timed out after ${timeoutMs} ms` };
  if (stopped === 'cancelled') return { ok: false, error: STOPPED };
  if (res.isMaxBuffer) return { ok: false, error: `wrote more than ${MAX_REPLY_BYTES} bytes` };
  // No exit code: it did not start (ENOENT) or a signal killed it; execa says which.
  if (res.exitCode === undefined) return { ok: false, error: res.shortMessage?.split('\n', 1)[0] ?? 'did not complete' };
  return { ok: true, stdout: res.stdout, stderr: res.stderr, exitCode: res.exitCode };
}

export const STOPPED = 'stopped: the task was stopped';

export async function runReviewer({ name, command, timeoutMs }: CommandReviewer, diff: string, cwd: string, sandbox: SandboxSettings, cancelSignal?: AbortSignal): Promise<ReviewerResult> {
  // The files its command names (its script, its rules) are the operator's: shown to it, read-only.
  const named = command.filter((arg) => isAbsolute(arg) && existsSync(arg));
  return inReviewerSandbox(sandbox, { name }, cwd, named, (home) => home, async (run, home) => {
    // Reviewers see the diff, not the worker's secrets.
    const end = await runReviewProcess({ argv: run.argv(command), cwd, input: diff, env: minimalEnv({ HOME: home, ...run.env }), timeoutMs, cancelSignal });
    if (!end.ok) return failed(name, end.error);
    if (end.exitCode !== 0) {
      const said = tailOf(end.stderr.trim().split('\n').slice(-3).join(' / '), 500);
      return failed(name, `exited with code ${end.exitCode}${said ? `: ${said}` : ''}`);
    }
    return parseReply(name, end.stdout);
  });
}

/**
 * Runs a review in the reviewer's sandbox: the checkout read-only, the reviewers' one uid (they
 * read one checkout at once), a private home (mkdtemp: 0700) gone when the review ends, its model
 * endpoint the one destination. `prepare` seeds the home before it is handed to that uid. Its
 * network record goes on the result. A sandbox required where this host has none is a failed
 * reviewer that says why, never a failed task.
 */
export async function inReviewerSandbox<P>(
  sandbox: SandboxSettings,
  reviewer: { name: string; kind?: CliReviewer['kind']; baseUrl?: string; apiKey?: string },
  checkout: string,
  visible: string[],
  prepare: (home: string, heldKey: HeldKey | undefined) => P,
  review: (run: SandboxedRun, prepared: P) => Promise<ReviewerResult>,
): Promise<ReviewerResult> {
  const home = mkdtempSync(join(tmpdir(), `swarm-review-${reviewer.name}-`));
  let prepared: { value: P } | undefined;
  const process: SandboxedProcess = {
    name: `reviewer ${reviewer.name}`,
    kind: reviewer.kind ?? 'command',
    ...(reviewer.baseUrl ? { baseUrl: reviewer.baseUrl } : {}),
    ...(reviewer.apiKey ? { apiKey: reviewer.apiKey } : {}),
    taskId: `review-${reviewer.name}`,
    uid: REVIEWER_UID,
    worktree: checkout,
    readOnly: true,
    home,
    visible,
    seed: (heldKey) => (prepared = { value: prepare(home, heldKey) }),
  };
  try {
    return await withSandbox(sandbox, process, async (run) => {
      const result = await review(run, prepared!.value);
      const egress = run.egress();
      return egress ? { ...result, egress } : result;
    });
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === FailureType.AgentMisconfigured) return failed(reviewer.name, err.message);
    throw err;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** The reply validated by FindingsReplySchema: its findings, or a failed result saying what is wrong. */
export function parseReply(name: string, stdout: string): ReviewerResult {
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

export function failed(name: string, error: string): ReviewerResult {
  return { reviewer: name, status: 'failed', findings: [], error };
}
