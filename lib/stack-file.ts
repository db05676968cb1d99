// What `npm start` is running, written to the state folder so that the CLI (another process)
// can find the server, the Web UI and the database. Holds no secrets.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isAlive } from './process.ts';

export const StackInfoSchema = z.object({
  pid: z.number().int(),
  startedAt: z.string(),
  namespace: z.string(),
  temporal: z.object({ address: z.string(), uiUrl: z.string().optional(), embedded: z.boolean(), dbFilename: z.string().optional() }),
  /** Embedded databases only: an external DATABASE_URL may carry a password and is not written. */
  database: z.object({ embedded: z.boolean(), url: z.string().optional(), dataDir: z.string().optional() }),
  webhookUrl: z.string().optional(),
  workers: z.array(z.object({ kind: z.enum(['orchestration', 'host']), taskQueue: z.string() })),
});

export type StackInfo = z.infer<typeof StackInfoSchema>;

export const stackFilePath = (stateDir: string) => join(stateDir, 'stack.json');

export function writeStackInfo(stateDir: string, info: StackInfo): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stackFilePath(stateDir), `${JSON.stringify(info, null, 2)}\n`);
}

export function removeStackInfo(stateDir: string): void {
  rmSync(stackFilePath(stateDir), { force: true });
}

/** The running stack, or undefined when none runs (a file left by a crash is ignored). */
export function readStackInfo(stateDir: string): StackInfo | undefined {
  const file = stackFilePath(stateDir);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const parsed = StackInfoSchema.safeParse(raw);
  // Our own pid means a file left by a crash of an earlier process that had it (containers reuse pid 1).
  if (!parsed.success || parsed.data.pid === process.pid || !isAlive(parsed.data.pid)) return undefined;
  return parsed.data;
}
