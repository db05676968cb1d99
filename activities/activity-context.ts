// Heartbeats and cancellable sleeps that also work when an activity function is called directly
// (tests, scripts): outside an activity context they are a no-op and a plain timer.
import { setTimeout as delay } from 'node:timers/promises';
import { asyncLocalStorage, heartbeat, sleep } from '@temporalio/activity';

const inActivity = () => asyncLocalStorage.getStore() !== undefined;

export function beat(details?: unknown): void {
  if (inActivity()) heartbeat(details);
}

/** Sleeps; inside an activity it rejects with CancelledFailure as soon as the activity is cancelled. */
export async function pause(ms: number): Promise<void> {
  if (inActivity()) await sleep(ms);
  else await delay(ms);
}
