#!/usr/bin/env node
// Runs one headless agent CLI attempt inside its tmux session (plain Node, no dependencies):
//
//   node runner.mjs <plan.json>
//
// It runs the first turn, then one resumed turn for each redirect dropped into the inbox folder
// while it ran, so a redirect reaches the model in the agent's next request. Each turn's stdout
// (the CLI's JSON events) is appended to the events file and echoed to the pane; its stderr goes
// to the pane. The exit code is the last turn's.
//
// A redirect counts as delivered (<name>.msg.delivered) once its resumed turn succeeded. After a
// failed turn nothing more is resumed: the failure stays the run's outcome (a CLI may not even be
// able to resume, as Gemini after a failed first request), and the redirects left (<name>.msg, or
// <name>.msg.sent for the one whose turn failed) are for the task's next run to carry.
//
// The inbox is closed by renaming it: a redirect written after that fails to land (the sender
// sees ENOENT and reports it undelivered), and one that landed before is still run.
//
// An urgent redirect (<name>.now.msg: the stuck watch's correction) does not wait for the turn to
// end, since a looping agent's turn may never end: the turn in flight is interrupted (SIGINT, then
// SIGKILL if it lingers) and the session resumes with it at once. The interrupted turn counts as
// one that succeeded, so the resume goes ahead.
//
// plan.json: { "argv": [...], "stdinFile": "<prompt file>" | null, "resumeArgv": [..."{message}"...],
//              "eventsFile": "<path>", "inbox": "<dir>" }
import { spawn } from 'node:child_process';
import { appendFileSync, openSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';

const [planFile] = process.argv.slice(2);
if (!planFile) {
  console.error('usage: runner.mjs <plan.json>');
  process.exit(2);
}
/** @type {{ argv: string[], stdinFile: string | null, resumeArgv: string[], eventsFile: string, inbox: string }} */
const plan = JSON.parse(readFileSync(planFile, 'utf8'));

/** @type {import('node:child_process').ChildProcess | undefined} */
let current;
// tmux kill-session hangs the pane up: take the CLI down with us.
for (const signal of /** @type {const} */ (['SIGHUP', 'SIGTERM', 'SIGINT'])) {
  process.on(signal, () => {
    current?.kill(signal);
    process.exit(128 + constants.signals[signal]);
  });
}

const URGENT = '.now.msg';
const URGENT_POLL_MS = 500;
const KILL_AFTER_MS = 10_000;

/** Whether an urgent redirect waits in the inbox (none once it is closed). */
function urgentWaiting() {
  try {
    return readdirSync(plan.inbox).some((f) => f.endsWith(URGENT));
  } catch {
    return false;
  }
}

/**
 * Runs one turn; resolves with its exit code (128 + n for a signal), or 0 when an urgent redirect interrupted it.
 * @param {string[]} argv
 * @param {string | null} stdinFile
 * @returns {Promise<number>}
 */
function turn(argv, stdinFile) {
  return new Promise((resolve) => {
    const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
    const child = spawn(/** @type {string} */ (argv[0]), argv.slice(1), { stdio: [stdin, 'pipe', 'inherit'] });
    current = child;
    let interrupted = false;
    /** @type {NodeJS.Timeout | undefined} */
    let killer;
    const watch = setInterval(() => {
      if (interrupted || !urgentWaiting()) return;
      interrupted = true;
      console.error('runner: interrupting the turn: an urgent redirect waits');
      child.kill('SIGINT');
      killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    }, URGENT_POLL_MS);
    /** @type {import('node:stream').Readable} */ (child.stdout).on('data', (/** @type {Buffer} */ chunk) => {
      appendFileSync(plan.eventsFile, chunk);
      process.stdout.write(chunk);
    });
    child.on('error', (err) => {
      clearInterval(watch);
      console.error(`runner: cannot start ${argv[0]}: ${err.message}`);
      resolve(127);
    });
    child.on('close', (code, signal) => {
      clearInterval(watch);
      clearTimeout(killer);
      resolve(interrupted ? 0 : (code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  });
}

/**
 * Runs a resumed turn per message in the folder, oldest first, until it is empty or a turn fails.
 * @param {string} dir
 * @param {number} code the exit code so far
 * @returns {Promise<number>}
 */
async function drain(dir, code) {
  while (code === 0) {
    const next = readdirSync(dir).filter((f) => f.endsWith('.msg')).sort()[0];
    if (next === undefined) return code;
    const message = readFileSync(join(dir, next), 'utf8');
    const sent = join(dir, `${next}.sent`);
    renameSync(join(dir, next), sent);
    console.error(`runner: resuming the session with a redirect (${next})`);
    code = await turn(plan.resumeArgv.map((arg) => (arg === '{message}' ? message : arg)), null);
    if (code === 0) renameSync(sent, join(dir, `${next}.delivered`));
  }
  return code;
}

let code = await turn(plan.argv, plan.stdinFile);
code = await drain(plan.inbox, code);
const closed = `${plan.inbox}.closed`;
renameSync(plan.inbox, closed);
code = await drain(closed, code);
process.exit(code);
