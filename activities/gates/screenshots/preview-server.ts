// The repository's preview server for one checkout: started in its own process group on a free
// port, polled until its readyPath answers, stopped with its whole group. A server that does not
// come up is a result with its output, not an exception: the gate reports it to the agent.
import { closeSync, openSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../../lib/ports.ts';
import { spawnTied, stopGroupOnTimeoutOrAbort } from '../../../lib/process.ts';
import type { PreviewPolicy } from '../../../workflows/task/types.ts';
import { minimalEnv } from '../../minimal-env.ts';
import { tailOfFd } from '../../output-tail.ts';

/** After SIGTERM, how long the group gets before SIGKILL (a cancelled or over-long preview). */
const KILL_GRACE_MS = 2_000;
const POLL_INTERVAL_MS = 150;
/** One readiness request: a server that accepts and never answers must not stall the poll. */
const PROBE_TIMEOUT_MS = 2_000;

export interface RunningPreview {
  origin: string;
  /** Kills the preview's process group and waits for its shell to exit. Safe to call twice. */
  stop(): Promise<void>;
}

export type PreviewStart = { ok: true; preview: RunningPreview } | { ok: false; reason: string; outputTail: string };

export interface StartPreviewInput {
  preview: Pick<PreviewPolicy, 'command' | 'readyPath' | 'timeoutMs'>;
  cwd: string;
  /** Where everything the server prints goes. */
  logFile: string;
  /** Bounds the preview's whole life (start and capture): it is killed when this passes. */
  lifetimeMs: number;
  signal?: AbortSignal;
}

export async function startPreview({ preview, cwd, logFile, lifetimeMs, signal }: StartPreviewInput): Promise<PreviewStart> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const fd = openSync(logFile, 'w+');
  // The command is the repository owner's (like its CI commands), so it runs in a shell, with the
  // worker's secrets left out. Its own group lets a stop take whatever it started (a bundler's
  // children); spawnTied makes the kernel stop it if the worker itself is killed.
  const child = spawnTied('sh', ['-c', preview.command], 'SIGTERM', {
    cwd,
    env: minimalEnv({ SWARM_PORT: String(port), PORT: String(port) }),
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  // 'error' without 'exit' when sh itself could not be spawned.
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, sig) => {
      exit ??= { code, signal: sig };
      resolve();
    });
    child.once('error', (error) => {
      exit ??= { code: null, signal: null, error };
      resolve();
    });
  });
  const guard = stopGroupOnTimeoutOrAbort(child.pid, { timeoutMs: lifetimeMs, graceMs: KILL_GRACE_MS, signal });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    guard.finish();
    await gone;
    closeSync(fd);
  };
  const failed = async (reason: string): Promise<PreviewStart> => {
    writeSync(fd, `\n[swarmflow] ${reason}\n`);
    const outputTail = tailOfFd(fd);
    await stop();
    return { ok: false, reason, outputTail };
  };

  const readyUrl = `${origin}${preview.readyPath}`;
  const deadline = performance.now() + preview.timeoutMs;
  let lastAnswer = 'no answer yet';
  try {
    while (performance.now() < deadline) {
      signal?.throwIfAborted();
      if (exit) {
        const how = exit.error ? `could not start: ${exit.error.message}` : exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
        return await failed(`the preview command ${how} before ${preview.readyPath} answered`);
      }
      const answer = await probe(readyUrl);
      if (typeof answer === 'number' && answer >= 200 && answer < 400) return { ok: true, preview: { origin, stop } };
      lastAnswer = typeof answer === 'number' ? `HTTP ${answer}` : answer;
      await delay(POLL_INTERVAL_MS);
    }
    return await failed(`${preview.readyPath} did not answer 2xx or 3xx within ${preview.timeoutMs} ms on port ${port} (last: ${lastAnswer})`);
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The status code readyPath answers with, or why there was none. Redirects are not followed: a 3xx is ready. */
async function probe(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return cause ?? (err as Error).name;
  }
}
