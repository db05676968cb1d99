// The swarmflow CLI, built on SwarmClient. Every command has --help; those a machine reads have --json.
// A command's code (and with it the Temporal SDK) is imported when the command runs, so `--help` and `--version` load none of it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../lib/config.ts';
import { InvalidOptionError, registerTaskCommands } from './commands/tasks.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerContextCommands } from './commands/context.ts';
import { InvalidNoteError } from '../workflows/context/notes.ts';
import type { IntakeOptions } from './commands/intake.ts';
import type { LogsOptions } from './commands/logs.ts';
import type { VerifyOptions } from './commands/evidence.ts';
import { InvalidTaskSpecError } from '../workflows/task/spec.ts';
import { PROJECT_ROOT } from '../scripts/tools.mjs';

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export function buildCli(): Command {
  const program = new Command('swarmflow')
    .description('Run and steer a swarm of AI coding agents on Temporal.')
    .version(PACKAGE_VERSION, '-V, --version', 'print the swarmflow version')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('doctor')
    .description('check Node, the Temporal binaries, the server, Postgres, git, tmux and a real round trip through the workers')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { formatResults, runDoctor } = await import('./commands/doctor.ts');
      const results = await runDoctor(loadConfig());
      process.stdout.write(`${opts.json ? JSON.stringify({ ok: results.every((r) => r.status !== 'fail'), checks: results }, null, 2) : formatResults(results)}\n`);
      if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
    });

  program
    .command('status')
    .description('show what is running: server address, Web UI link, workers, database. Exit 1 when any of them is down')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { formatStatus, getStatus, statusOk } = await import('./commands/status.ts');
      const status = await getStatus(loadConfig());
      process.stdout.write(`${opts.json ? JSON.stringify(status, null, 2) : formatStatus(status)}\n`);
      if (!statusOk(status)) process.exitCode = 1;
    });

  registerTaskCommands(program);
  registerKeyCommands(program);
  registerContextCommands(program);

  program
    .command('intake <repo>')
    .description("the local forge's requests (markdown files committed under .swarm/requests/ on the base branch) become tasks, each once. Exit 0: every request is a task; 1: a request was refused (what to fix is said); 2: an option it cannot use")
    .option('--base <branch>', 'the branch the requests are committed on', 'main')
    .option('--watch', 'keep looking for new requests, every --interval, until Ctrl-C')
    .option('--interval <duration>', 'how often --watch looks', '30s')
    .option('--json', 'print one JSON outcome per line')
    .action(async (repo: string, o: IntakeOptions) => {
      process.exitCode = await (await import('./commands/intake.ts')).runIntake(repo, o);
    });

  program
    .command('logs <id>')
    .description(
      "an attempt's agent log on this host: live while the task's files are there, kept (compressed, for SWARM_LOG_RETENTION) after. Exit 0: printed (with --follow: once the agent exited); 1: no such task, start or attempt here (what there is is said); 2: an option it cannot use",
    )
    .option('--attempt <n>', 'which attempt (default: the latest)')
    .option('--run <m>', 'which start of the task id: 1 for the first, or its run key (default: the latest)')
    .option('--follow', "keep printing the live log until the attempt's agent exits")
    .action(async (id: string, o: LogsOptions) => (await import('./commands/logs.ts')).printLogs(id, o, loadConfig(), { out: process.stdout, err: process.stderr }));

  program
    .command('verify [task]')
    .description(
      "check a task's signed evidence chain (from Postgres and this host's spool): every signature, seq contiguous from 1, each link naming the one before, the head the workflow recorded; one line per link, saying what it proves. Exit 0: verified; 1: a break (named) or no chain",
    )
    .option('--bundle <file>', 'check an exported bundle instead (offline)')
    .option('--run <runKey>', 'which start of the task id (default: the workflow\'s, else the latest)')
    .option('--key <publicKey>', "trust this orchestrator public key too (an auditor's copy); repeatable", (v: string, p: string[] = []) => [...p, v])
    .option('--json', 'print the report as JSON')
    .action(async (task: string | undefined, o: VerifyOptions) => {
      process.exitCode = await (await import('./commands/evidence.ts')).verifyCommand(task, o, loadConfig(), process.stdout);
    });

  program
    .command('evidence <task>')
    .description("export a task's signed evidence chain as a bundle (the envelopes in order and the public keys), for an auditor: `swarm verify --bundle <file>` checks it offline")
    .requiredOption('--out <file>', 'where to write the bundle (JSON)')
    .option('--run <runKey>', 'which start of the task id (default: the workflow\'s, else the latest)')
    .action(async (task: string, o: { out: string; run?: string }) => {
      process.exitCode = await (await import('./commands/evidence.ts')).exportCommand(task, o, loadConfig(), process.stdout);
    });

  program
    .command('reap')
    .description("run this host's reaper now: remove the worktree, tmux session and branch of every task whose workflow closed (terminated, timed out, …) without cleaning up, close the PR it left open, and print what it removed. Exit 1: the server or a worker is not there")
    .option('--json', 'print the report as JSON')
    .action(async (o: { json?: boolean }) => (await import('./commands/reap.ts')).reapCommand(o));

  program
    .command('demo')
    .description('run a scripted agent task on a sample repository through all 8 steps, approve it, and show the merge (starts a stack of its own)')
    .option('--keep', 'keep the demo stack running afterwards, to look around in the Web UI')
    .action(async (o: { keep?: boolean }) => (await import('./commands/demo.ts')).runDemo(o));
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  const program = buildCli().exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError || err instanceof InvalidTaskSpecError || err instanceof InvalidOptionError || err instanceof InvalidNoteError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    process.stderr.write(`swarmflow: ${(err as Error).message}\n`);
    return 1;
  }
}
