// `swarm intake <repo>`: the local forge's requests (`.swarm/requests/*.md` committed on the base
// branch, see client/intake.ts) become tasks. Once, or with --watch every --interval until Ctrl-C.
// Exit 0: every request is a task (started now or before); 1: a request was refused (each says
// what to fix); 2: an option it cannot use.
import { resolve } from 'node:path';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { Duration } from '@temporalio/common';
import { intakeRequests, type IntakeOutcome } from '../intake.ts';
import { InvalidOptionError, withClient } from './tasks.ts';

export interface IntakeOptions {
  base: string;
  watch?: boolean;
  interval: string;
  json?: boolean;
}

const describe = (o: IntakeOutcome): string =>
  o.outcome === 'started' ? `started   ${o.taskId}  (${o.file}; follow it: swarmflow task status ${o.taskId} --watch)` : o.outcome === 'known' ? `known     ${o.taskId}  (${o.file}; its latest run: ${o.status})` : `refused   ${o.file}: ${o.reason}`;

export async function runIntake(repo: string, o: IntakeOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (!/^\d+(ms|s|m|h)$/.test(o.interval)) throw new InvalidOptionError(`--interval must be a duration such as "30s" or "5m" (got "${o.interval}")`);
  const intervalMs = msToNumber(o.interval as Duration);
  const repository = resolve(repo);
  return withClient(async (client) => {
    // What was printed, so a watch prints a request once per change, not once per poll.
    const shown = new Map<string, string>();
    for (;;) {
      const outcomes = await intakeRequests(client, repository, o.base);
      for (const outcome of outcomes) {
        const line = o.json ? JSON.stringify(outcome) : describe(outcome);
        if (shown.get(outcome.file) === line) continue;
        shown.set(outcome.file, line);
        out.write(`${line}\n`);
      }
      if (!o.watch) {
        if (outcomes.length === 0 && !o.json) out.write(`no requests in ${repository} on ${o.base}: commit markdown files under .swarm/requests/\n`);
        return outcomes.some((x) => x.outcome === 'refused') ? 1 : 0;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  });
}
