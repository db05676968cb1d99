#!/usr/bin/env node
// A scripted stand-in for an agent CLI, for demos and tests (plain Node, no dependencies).
//
//   agent command: ['node', '<path>/scripted-agent.mjs', '<scenario.json>']
//
// It runs in the task's worktree (its cwd) with the agent environment swarmflow gives every agent:
// SWARM_ATTEMPT picks the step (attempt 1 → steps[0], …; the last step repeats for later
// attempts) and SWARM_PROMPT_FILE is the prompt, which it copies to stdout between marker lines so
// tests can assert what the agent was told.
//
// Scenario file:
//   { "steps": [ { "files": { "src/x.js": "file content" },  // written relative to the cwd
//                  "commit": "message",                      // then `git add -A && git commit -m`
//                  "sleepMs": 0,                             // pause before doing anything
//                  "exitCode": 0,
//                  "print": ["a line of output"] } ] }
// Every field is optional. Order: print the prompt, print the lines, sleep, write the files,
// commit, exit with exitCode (default 0).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * @typedef {{ files?: Record<string, string>, commit?: string, sleepMs?: number, exitCode?: number, print?: string[] }} Step
 */

const [scenarioFile] = process.argv.slice(2);
if (!scenarioFile) {
  console.error('usage: scripted-agent.mjs <scenario.json>');
  process.exit(2);
}
/** @type {{ steps?: Step[] }} */
const scenario = JSON.parse(readFileSync(scenarioFile, 'utf8'));
const steps = scenario.steps ?? [];
if (steps.length === 0) {
  console.error(`scripted-agent: ${scenarioFile} has no steps`);
  process.exit(2);
}
const attempt = Math.max(1, Number(process.env.SWARM_ATTEMPT ?? '1') || 1);
const step = /** @type {Step} */ (steps[Math.min(attempt, steps.length) - 1]);

const promptFile = process.env.SWARM_PROMPT_FILE;
console.log(`--- prompt (attempt ${attempt}) ---`);
console.log(promptFile ? readFileSync(promptFile, 'utf8') : '(no SWARM_PROMPT_FILE)');
console.log('--- end of prompt ---');
for (const line of step.print ?? []) console.log(line);

if (step.sleepMs) await sleep(step.sleepMs);

for (const [path, content] of Object.entries(step.files ?? {})) {
  const target = resolve(path);
  if (relative(process.cwd(), target).split('/')[0] === '..') {
    console.error(`scripted-agent: refusing to write outside the worktree: ${path}`);
    process.exit(2);
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
}

if (step.commit) {
  // The agent's environment has no git identity (its HOME is empty): give the commit one.
  const env = { ...process.env, GIT_AUTHOR_NAME: 'scripted-agent', GIT_AUTHOR_EMAIL: 'agent@localhost', GIT_COMMITTER_NAME: 'scripted-agent', GIT_COMMITTER_EMAIL: 'agent@localhost' };
  execFileSync('git', ['add', '-A'], { env, stdio: 'inherit' });
  execFileSync('git', ['commit', '--quiet', '-m', step.commit], { env, stdio: 'inherit' });
  console.log(`committed: ${step.commit}`);
}

process.exit(step.exitCode ?? 0);
