// A process the worker runs and waits for, in the agents' bubblewrap sandbox (issue #14): a
// reviewer (its checkout read-only) or the repository's bootstrap install (the task's clone
// writable, as the task's uid). Its network is its own namespace whose one way out is an egress
// proxy, served here for as long as the process runs, that lets through its allow-list only, and
// records what it asked for. The agent itself runs under tmux, with its proxy beside it (wrapper.ts).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SandboxMode } from '../../lib/config.ts';
import type { AgentCommand, EgressRecord } from '../../workflows/task/types.ts';
import { egressAllowList, egressRecord, modelBaseUrl, proxyEnvironment, writeEgressPlan, type HeldKey } from './egress/plan.ts';
import { serve } from './egress/proxy.mjs';
import { detectSandbox, handOver, sandboxedArgv, sandboxFor, sandboxModeFor, type SandboxLayout } from './sandbox.ts';

/** The host's sandbox settings (config `host`, the worker's secret files), as its agents get them. */
export interface SandboxSettings {
  mode?: SandboxMode;
  stateDir: string;
  secretFiles: string[];
  egressAllow: string[];
  tmpMb: number;
  maxProcesses: number;
}

export const sandboxSettings = (stateDir: string, limits: { sandbox?: SandboxMode; egressAllow: string[]; agentTmpMb: number; agentMaxProcesses: number }, secretFiles: string[] = []): SandboxSettings => ({
  mode: limits.sandbox,
  stateDir,
  secretFiles,
  egressAllow: limits.egressAllow,
  tmpMb: limits.agentTmpMb,
  maxProcesses: limits.agentMaxProcesses,
});

export interface SandboxedRun {
  /** The argv as it is to be run (in its sandbox, or as it is where none is used). */
  argv: (argv: string[]) => string[];
  /** Added to its environment: its proxy and its home. */
  env: Record<string, string>;
  /** Once it ended: what it asked the network for (sandboxed runs). */
  egress: () => EgressRecord | undefined;
}

export interface SandboxedProcess extends Pick<AgentCommand, 'kind' | 'baseUrl'> {
  /** How the refusal names it: `reviewer codex`, `the bootstrap install`. */
  name: string;
  /** Whose uid, as root: the task's (its clone stays its own), or a fixed one. */
  taskId: string;
  uid?: number;
  /** Its working folder, writable unless `readOnly`; and its home. */
  worktree: string;
  readOnly?: boolean;
  home: string;
  /** Destinations beside its model endpoint (from `kind` and `baseUrl`) and the host's host.egressAllow. */
  allow?: readonly string[];
  /** Files and folders outside it shown read-only (what the operator's command names). */
  visible?: string[];
  /** A CLI's API key: sandboxed, its egress proxy holds it and `seed` is given the placeholder instead. */
  apiKey?: string;
  /** Seeds its home (a CLI's config) before the home is handed to its uid; `heldKey` when the proxy holds the key. */
  seed?: (heldKey: HeldKey | undefined) => void;
}

/**
 * Runs `use` with the process's sandbox around it. Where the sandbox is required and this host has
 * none, nothing runs: the AgentMisconfigured failure says why and how to fix it.
 */
export async function withSandbox<T>(settings: SandboxSettings, process: SandboxedProcess, use: (run: SandboxedRun) => Promise<T>): Promise<T> {
  const sandbox = sandboxFor(sandboxModeFor(settings.mode, process.kind ?? 'command'), process.name, detectSandbox());
  if (!sandbox) {
    process.seed?.(undefined);
    return use({ argv: (argv) => argv, env: {}, egress: () => undefined });
  }
  const egressDir = mkdtempSync(join(tmpdir(), 'swarm-egress-'));
  try {
    const allow = egressAllowList(process, process.allow, settings.egressAllow);
    const upstream = modelBaseUrl(process);
    const plan = writeEgressPlan(egressDir, allow, process.apiKey && upstream ? { upstream, key: process.apiKey } : undefined);
    // It reads the plan as the wrapper's proxy does: the key file is gone once it listens.
    const proxy = await serve(egressDir);
    try {
      mkdirSync(process.home, { recursive: true, mode: 0o700 });
      process.seed?.(plan.model);
      const layout: SandboxLayout = {
        taskId: process.taskId,
        ...(process.uid === undefined ? {} : { uid: process.uid }),
        stateDir: settings.stateDir,
        worktree: process.worktree,
        readOnlyWorktree: process.readOnly ?? false,
        home: process.home,
        readOnly: [],
        visible: process.visible ?? [],
        secretFiles: settings.secretFiles,
        maxProcesses: settings.maxProcesses,
        tmpMb: settings.tmpMb,
        egress: plan,
      };
      handOver(layout, sandbox);
      // HOME too: the worker's is hidden in the sandbox (an install's package cache goes to the task's home).
      return await use({ argv: (argv) => sandboxedArgv(sandbox, layout, argv), env: { ...proxyEnvironment(plan), HOME: process.home }, egress: () => egressRecord(egressDir) });
    } finally {
      await proxy.close();
    }
  } finally {
    rmSync(egressDir, { recursive: true, force: true });
  }
}
