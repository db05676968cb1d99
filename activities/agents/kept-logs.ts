// The logs that outlive a task: each run of each attempt keeps its agent log, its CLI's events and
// its prompt, gzip-compressed, in `<state>/logs/<taskId>/<runKey>/attempt-<n>[-run-<k>]/`, until
// the retention (tasks.logRetention) has passed. The run key (TaskState.runKey, which the task's
// workspace record beside its clone names) tells one start of a task id from the next. The live files are in the agent's reach (without a sandbox it runs as our user), so
// they are read only as regular files reached through real folders, never through a symlink or
// from a FIFO; a kept folder is built beside its place and renamed into it, so it appears whole.
import { randomUUID } from 'node:crypto';
import { constants, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { writeFileAtomic } from './files.ts';
import { attemptDirName, type AgentPaths } from './paths.ts';

/** Where a start is kept when its workflow gave no run key (tasks started before run keys existed). */
export const UNKEYED_RUN = 'unkeyed';
/** A run key is a workflow run id; anything else read back from the task's folder is not one. */
export const RUN_KEY = /^[A-Za-z0-9-]{1,64}$/;
/** What is kept of an attempt's folder, each as `<name>.gz`. */
export const KEPT_FILES = ['agent.log', 'events.jsonl', 'prompt.md'] as const;
/** An agent that prints without end must not stall cleanup or fill the disk: the rest is cut. */
export const MAX_KEPT_BYTES = 128 * 1024 * 1024;
/** tasks.logRetention's default, for callers without a configuration (tests). */
export const DEFAULT_LOG_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** A folder half built by a worker that died is removed once it is this old. */
const PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;
const ATTEMPT_DIR = /^attempt-(\d+)(?:-run-(\d+))?$/;

/** What `attempt.json` in a kept folder says. */
export interface KeptAttempt {
  taskId: string;
  runKey: string;
  attempt: number;
  run: number;
  exitCode: number | null;
  keptAt: string;
  /** Each kept file's size as the agent left it, and how much of it was kept. */
  files: Partial<Record<(typeof KEPT_FILES)[number], { bytes: number; keptBytes: number }>>;
  /** Files not kept, and why (a symlink, not a regular file). */
  refused?: Partial<Record<(typeof KEPT_FILES)[number] | 'exit-code', string>>;
}

/** The folders from `root` (exclusive) down to `dir` are real folders, none a symlink. */
function realFolders(root: string, dir: string): boolean {
  let at = root;
  for (const part of relative(root, dir).split(sep).filter(Boolean)) {
    at = join(at, part);
    if (!lstatSync(at, { throwIfNoEntry: false })?.isDirectory()) return false;
  }
  return true;
}

const sameFile = (a: Stats | undefined, b: Stats) => a !== undefined && a.dev === b.dev && a.ino === b.ino;

/**
 * `dir/name` opened for reading when it is a regular file reached from `root` through real
 * folders; `{ refused }` says why not, undefined when it does not exist. Checked again after the
 * open, so a folder swapped for a symlink in between is caught.
 */
export async function openRegular(root: string, dir: string, name: string): Promise<{ handle: FileHandle } | { refused: string } | undefined> {
  const file = join(dir, name);
  if (!realFolders(root, dir)) return { refused: 'a folder on its path is a symlink' };
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO the agent planted does not wait for a writer.
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') return { refused: 'a symlink' };
    if (code === 'EACCES') return { refused: 'not readable' };
    throw err;
  }
  const stats = await handle.stat();
  const why = !stats.isFile() ? 'not a regular file' : !realFolders(root, dir) || !sameFile(lstatSync(file, { throwIfNoEntry: false }), stats) ? 'replaced while it was opened' : undefined;
  if (why === undefined) return { handle };
  await handle.close();
  return { refused: why };
}

/** A small file of ours in the agent's reach (a workspace record, an exit code), or undefined when it is not a regular file. */
async function readRegularText(root: string, dir: string, name: string): Promise<string | undefined> {
  const opened = await openRegular(root, dir, name);
  if (!opened || 'refused' in opened) return undefined;
  try {
    const { buffer, bytesRead } = await opened.handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').trim();
  } finally {
    await opened.handle.close();
  }
}

/**
 * The exit code the wrapper recorded in an attempt's folder; undefined while there is none, or
 * when what is there is no regular file (a FIFO the agent planted would block a plain read).
 */
export async function exitCodeIn(root: string, dir: string): Promise<number | undefined> {
  const text = await readRegularText(root, dir, 'exit-code');
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The start of the task the live attempts belong to: the run key its workspace record names. */
export async function liveRunKey(paths: AgentPaths, taskId: string): Promise<string> {
  const record = paths.workspaceRecord(taskId);
  const text = await readRegularText(paths.stateDir, dirname(record), basename(record));
  try {
    const { runKey } = JSON.parse(text ?? '{}') as { runKey?: unknown };
    return typeof runKey === 'string' && RUN_KEY.test(runKey) ? runKey : UNKEYED_RUN;
  } catch {
    return UNKEYED_RUN;
  }
}

/** The kept folder of one start of the task, with its `run.json`: when it started, the order of starts. */
export function keptRunFolder(paths: AgentPaths, taskId: string, runKey: string): string {
  const dir = join(paths.keptLogs(taskId), runKey);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const record = join(dir, 'run.json');
  if (!existsSync(record)) writeFileAtomic(record, JSON.stringify({ taskId, runKey, startedAt: new Date().toISOString() }));
  return dir;
}

/** Appends a line saying how much was cut, after the first MAX_KEPT_BYTES. */
function noteCut(bytes: number) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) yield chunk;
    if (bytes > MAX_KEPT_BYTES) yield Buffer.from(`\n[swarmflow: the log went on for ${bytes - MAX_KEPT_BYTES} more bytes, not kept]\n`);
  };
}

async function gzipInto(handle: FileHandle, dest: string): Promise<{ bytes: number; keptBytes: number }> {
  const { size } = await handle.stat();
  const source = handle.createReadStream({ start: 0, end: MAX_KEPT_BYTES - 1 });
  await pipeline(source, noteCut(size), createGzip(), createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
  return { bytes: Math.max(size, source.bytesRead), keptBytes: source.bytesRead };
}

/**
 * Keeps one run of an attempt: its live folder, compressed, under the task's run key. Idempotent:
 * false when it is kept already (by an earlier try, or by the other of awaitAgentExit and
 * cleanupTask) or there is no live folder.
 */
export async function keepAttempt(paths: AgentPaths, taskId: string, attempt: number, run: number): Promise<boolean> {
  const live = paths.attempt(taskId, attempt, run).dir;
  if (!lstatSync(live, { throwIfNoEntry: false })?.isDirectory()) return false;
  const runKey = await liveRunKey(paths, taskId);
  const kept = join(keptRunFolder(paths, taskId, runKey), attemptDirName(attempt, run));
  if (existsSync(kept)) return false;
  const partial = `${kept}.${randomUUID()}.partial`;
  mkdirSync(partial, { mode: 0o700 });
  try {
    const record: KeptAttempt = { taskId, runKey, attempt, run, exitCode: null, keptAt: new Date().toISOString(), files: {} };
    const refused: NonNullable<KeptAttempt['refused']> = {};
    for (const name of KEPT_FILES) {
      const opened = await openRegular(paths.stateDir, live, name);
      if (!opened) continue;
      if ('refused' in opened) {
        refused[name] = opened.refused;
        continue;
      }
      try {
        record.files[name] = await gzipInto(opened.handle, join(partial, `${name}.gz`));
      } finally {
        await opened.handle.close();
      }
    }
    record.exitCode = (await exitCodeIn(paths.stateDir, live)) ?? null;
    if (Object.keys(refused).length > 0) record.refused = refused;
    writeFileAtomic(join(partial, 'attempt.json'), JSON.stringify(record, null, 2));
    renameSync(partial, kept);
    return true;
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    // Kept meanwhile by the other caller: its copy is as good as ours.
    if (['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}

/** The runs of attempts in the task's live folder, in order. */
function liveAttempts(paths: AgentPaths, taskId: string): Array<{ attempt: number; run: number }> {
  const dir = paths.taskDir(taskId);
  if (!lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
  return attemptsIn(dir);
}

function attemptsIn(dir: string): Array<{ attempt: number; run: number }> {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const match = ATTEMPT_DIR.exec(entry.name);
      return match ? [{ attempt: Number(match[1]), run: Number(match[2] ?? 1) }] : [];
    })
    .sort((a, b) => a.attempt - b.attempt || a.run - b.run);
}

/** At cleanup: keeps every run of every attempt not kept yet; how many it kept. */
export async function keepTaskLogs(paths: AgentPaths, taskId: string): Promise<number> {
  let kept = 0;
  for (const { attempt, run } of liveAttempts(paths, taskId)) if (await keepAttempt(paths, taskId, attempt, run)) kept++;
  return kept;
}

const newestChange = (dir: string): number => Math.max(lstatSync(dir).mtimeMs, ...readdirSync(dir).map((name) => lstatSync(join(dir, name)).mtimeMs));

/**
 * Removes every kept start of a task whose newest file is older than the retention, except the
 * start whose attempts are still live; and folders half built by a worker that died. Returns the
 * removed folders.
 */
export async function pruneKeptLogs(paths: AgentPaths, retentionMs: number, now = Date.now()): Promise<string[]> {
  const root = join(paths.stateDir, 'logs');
  if (!lstatSync(root, { throwIfNoEntry: false })?.isDirectory()) return [];
  const removed: string[] = [];
  for (const task of readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const taskDir = join(root, task.name);
    const live = existsSync(paths.taskDir(task.name)) ? await liveRunKey(paths, task.name) : undefined;
    for (const run of readdirSync(taskDir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const runDir = join(taskDir, run.name);
      for (const partial of readdirSync(runDir).filter((name) => name.endsWith('.partial'))) {
        if (now - lstatSync(join(runDir, partial)).mtimeMs > PARTIAL_MAX_AGE_MS) rmSync(join(runDir, partial), { recursive: true, force: true });
      }
      if (run.name === live || now - newestChange(runDir) <= retentionMs) continue;
      rmSync(runDir, { recursive: true, force: true });
      removed.push(runDir);
    }
    if (readdirSync(taskDir).length === 0) rmSync(taskDir, { recursive: true, force: true });
  }
  return removed;
}

/** One run of an attempt as `swarm logs` finds it. */
export interface AttemptLogs {
  attempt: number;
  run: number;
  /** Where it is kept: there once the run ended. */
  keptDir: string;
  /** Its live folder, while the task's files are there. */
  live?: string;
}

/** One start of the task, and its attempts' logs. */
export interface TaskRunLogs {
  runKey: string;
  startedAt: string;
  /** Its attempts are live: the task's folder on this host belongs to this start. */
  live: boolean;
  attempts: AttemptLogs[];
}

/** Every start of the task with logs on this host, oldest first. */
export async function taskLogs(paths: AgentPaths, taskId: string): Promise<TaskRunLogs[]> {
  const runs = new Map<string, TaskRunLogs>();
  const keptRoot = paths.keptLogs(taskId);
  const keptRuns = lstatSync(keptRoot, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(keptRoot, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
  for (const entry of keptRuns) {
    const dir = join(keptRoot, entry.name);
    const started = existsSync(join(dir, 'run.json')) ? (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { startedAt?: string }).startedAt : undefined;
    const attempts = attemptsIn(dir).map((a) => ({ ...a, keptDir: join(dir, attemptDirName(a.attempt, a.run)) }));
    runs.set(entry.name, { runKey: entry.name, startedAt: started ?? lstatSync(dir).mtime.toISOString(), live: false, attempts });
  }
  const live = liveAttempts(paths, taskId);
  if (live.length > 0) {
    const runKey = await liveRunKey(paths, taskId);
    const run = runs.get(runKey) ?? { runKey, startedAt: new Date().toISOString(), live: true, attempts: [] };
    run.live = true;
    for (const a of live) {
      const dir = paths.attempt(taskId, a.attempt, a.run).dir;
      const known = run.attempts.find((k) => k.attempt === a.attempt && k.run === a.run);
      if (known) known.live = dir;
      else run.attempts.push({ ...a, keptDir: join(keptRoot, runKey, attemptDirName(a.attempt, a.run)), live: dir });
    }
    run.attempts.sort((a, b) => a.attempt - b.attempt || a.run - b.run);
    runs.set(runKey, run);
  }
  return [...runs.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
