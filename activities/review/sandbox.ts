// A reviewer in the same bubblewrap sandbox as an agent (issue #14), read-only: the clean checkout
// of the head is bound read-only, its private home is the one writable place, and its network is
// its own namespace whose one way out is an egress proxy, served here for the length of the review,
// that lets through the reviewer's model endpoint only (and the host's host.egressAllow).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SandboxMode } from '../../lib/config.ts';
import type { AgentCommand, EgressRecord } from '../../workflows/task/types.ts';
import { egressAllowList, egressRecord, proxyEnvironment, writeEgressPlan } from '../agents/egress/plan.ts';
import { serve } from '../agents/egress/proxy.mjs';
import { detectSandbox, handOver, REVIEWER_UID, sandboxedArgv, sandboxFor, sandboxModeFor, type SandboxLayout } from '../agents/sandbox.ts';

/** The host's sandbox settings (config `host`, the worker's secret files), as the agents get them. */
export interface ReviewSandboxSettings {
  mode?: SandboxMode;
  stateDir: string;
  secretFiles: string[];
  egressAllow: string[];
  tmpMb: number;
  maxProcesses: number;
}

export interface ReviewRun {
  /** The reviewer's argv as it is to be run (in its sandbox, or as it is). */
  argv: (argv: string[]) => string[];
  /** Added to the reviewer's environment (its proxy). */
  env: Record<string, string>;
  /** Once the review ended: what it asked the network for (sandboxed runs). */
  egress: () => EgressRecord | undefined;
}

/**
 * Runs `review` with the reviewer's sandbox around it. Where the sandbox is required and this host
 * has none, the reviewer does not run: the error says why and how to fix it.
 */
export async function inReviewSandbox<T>(
  settings: ReviewSandboxSettings,
  reviewer: { name: string } & Pick<AgentCommand, 'kind' | 'baseUrl'>,
  dirs: { checkout: string; home: string },
  review: (run: ReviewRun) => Promise<T>,
): Promise<T> {
  const sandbox = sandboxFor(sandboxModeFor(settings.mode, reviewer.kind ?? 'command'), `reviewer ${reviewer.name}`, detectSandbox());
  if (!sandbox) return review({ argv: (argv) => argv, env: {}, egress: () => undefined });
  const egressDir = mkdtempSync(join(tmpdir(), 'swarm-review-egress-'));
  try {
    const allow = egressAllowList(reviewer, settings.egressAllow);
    const plan = writeEgressPlan(egressDir, allow);
    const proxy = await serve(egressDir, { allow });
    try {
      mkdirSync(dirs.home, { recursive: true, mode: 0o700 });
      const layout: SandboxLayout = {
        taskId: `review-${reviewer.name}`,
        uid: REVIEWER_UID,
        stateDir: settings.stateDir,
        worktree: dirs.checkout,
        readOnlyWorktree: true,
        home: dirs.home,
        readOnly: [],
        secretFiles: settings.secretFiles,
        maxProcesses: settings.maxProcesses,
        tmpMb: settings.tmpMb,
        egress: plan,
      };
      handOver(layout, sandbox);
      return await review({ argv: (argv) => sandboxedArgv(sandbox, layout, argv), env: proxyEnvironment(plan), egress: () => egressRecord(egressDir) });
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  } finally {
    rmSync(egressDir, { recursive: true, force: true });
  }
}
