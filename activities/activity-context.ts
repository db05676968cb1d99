// Heartbeats and cancellable sleeps that also work when an activity function is called directly
// (tests, scripts): outside an activity context they are a no-op and a plain timer.
import { setTimeout as delay } from 'node:timers/promises';
import { asyncLocalStorage, sleep, type Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** What each running activity last said in a heartbeat: the keep-alive beat repeats it. */
const lastDetails = new WeakMap<Context, unknown>();

export function beat(details?: unknown): void {
  const ctx = asyncLocalStorage.getStore();
  if (!ctx) return;
  lastDetails.set(ctx, details);
  ctx.heartbeat(details);
}

/** Sleeps; inside an activity it rejects with CancelledFailure as soon as the activity is cancelled. */
export async function pause(ms: number): Promise<void> {
  if (asyncLocalStorage.getStore()) await sleep(ms);
  else await delay(ms);
}

/**
 * Every activity with a heartbeat timeout heartbeats while it runs, whatever it does: so a lost
 * worker is noticed within that timeout on every step (not at the start-to-close timeout, minutes
 * later), and a cancellation (the task was aborted) reaches the activity. A hung call is still
 * bounded by its start-to-close timeout.
 */
export const keepAliveHeartbeats: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const timeoutMs = ctx.info.heartbeatTimeoutMs;
      if (!timeoutMs) return next(input);
      const timer = setInterval(() => ctx.heartbeat(lastDetails.get(ctx)), Math.max(1_000, Math.floor(timeoutMs / 4)));
      try {
        return await next(input);
      } finally {
        clearInterval(timer);
      }
    },
  },
});
