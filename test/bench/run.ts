// `npm run bench`: prints the numbers we track. Not a test: it asserts nothing and `npm test` does
// not run it. Everything it starts listens on 127.0.0.1 and is stopped before it exits.
//
//   npx tsx test/bench/run.ts [--startup] [--cli] [--tasks [N]] [--agents [N]] [--webhooks [N]] [--telegram [N]] [--registry [N]] [--kill-recovery] [--screenshots [N]] [--reviewers] [--evidence [N]] [--npm-test] [--json] [--keep]
//
// With no section flag: --startup, --cli, --tasks 20 and --registry 200 (--agents, --webhooks, --telegram, --kill-recovery, --screenshots, --reviewers, --evidence and --npm-test run only when asked).
// Progress goes to stderr; stdout holds the results (plain text, or one JSON object with --json).
// This process only reports: it runs itself again as a child that measures (workers, dev server
// and all) and hands back raw results in a file, so nothing the servers print reaches stdout.
// Scratch: state folders and Postgres data under .swarmflow/bench, the harness helpers' folders
// (repositories) under the system temp folder; all removed at the end unless --keep.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { exited } from '../../lib/process.ts';
import { ensureBuilt } from '../../scripts/build.mjs';
import { benchAgents, type AgentsResult } from './agents.ts';
import { buildBundles } from './bundles.ts';
import { benchCliStart, type CliStartResult } from './cli-start.ts';
import { GROUPS, type MemoryPeak } from './proc-memory.ts';
import { benchKillRecovery, type KillRecoveryResult } from './kill-recovery.ts';
import { benchNpmTest, type NpmTestResult } from './npm-test.ts';
import { benchStartup, type StartupResult, type StartupRun } from './startup.ts';
import { benchRegistry, registryText, type RegistryResult } from './registry.ts';
import { benchScreenshots, type ScreenshotsResult } from './screenshots.ts';
import { benchReviewers, type ReviewersResult } from './reviewers.ts';
import { benchEvidence, type EvidenceResult } from './evidence.ts';
import { benchTasks, type TasksResult } from './tasks.ts';
import { benchWebhooks, type WebhooksResult } from './webhooks.ts';
import { benchTelegram, type TelegramResult } from './telegram.ts';
import { createRunDir } from '../harness/paths.ts';
import { benchDir, max, mb, median, millis, min, percentile, progress, round, seconds, toMb } from './util.ts';

const USAGE = `usage: npx tsx test/bench/run.ts [--startup] [--cli] [--tasks [N]] [--agents [N]] [--webhooks [N]] [--telegram [N]] [--registry [N]] [--kill-recovery] [--screenshots [N]] [--reviewers] [--evidence [N]] [--npm-test] [--json] [--keep]

  --startup     time to "swarmflow is ready" and peak memory of the stack (node dist/workers/start.js):
                3 runs on fresh state folders, then 1 restart on an existing one
  --cli         the CLI's start: spawn to exit of \`swarmflow --help\` and \`--version\`, 10 runs each
  --tasks [N]   N concurrent tasks (default 20), instant scripted agent, through to merge, on a
                dev server and embedded Postgres, workers in this process
  --agents [N]  N concurrent tasks (default 8) whose scripted agent sleeps 8 s, through to merge,
                under the default host limits (maxAgents 3) but host.spawnHoldRetry 2s: the most
                agents at once (tmux listed every 100 ms), tasks held, wall time, worker memory
  --webhooks [N] webhook-to-workflow reaction time over N signed deliveries (default 100): the real
                webhook server signalling a real task workflow at its approval gate (dev server)
  --telegram [N] Telegram event-to-message latency against the Bot API stand-in (dev server, one task):
                its ready message (outbox row → sendMessage), N more events one at a time (default 20:
                notifier called → editMessageText), an approver's press → its answer and the merged edit
  --registry [N] \`swarm tasks\` at N ended tasks (default 200, each failed at intake, dev server):
                the client's registry read and the CLI's, 3 times each, and one state query per
                task for comparison
  --kill-recovery  one task whose worker process is SIGKILLed while each slowed step runs (bootstrap,
                agent, review, CI) and started again at once: time until that step runs again,
                and the new worker's time to ready (a few minutes)
  --screenshots [N]  the UI gate's capture of a two-route sample site, N times (default 3): wall time of
                captureScreenshots (preview on base and head, Chromium, 4 screenshots, 2 diffs) and
                Chromium's peak RSS and PSS (its process tree, summed every 50 ms)
  --evidence [N]  the signed chain: signing and verifying cost per artifact (2000 artifacts), a link's
                insert into Postgres and append to the spool (fsync), and \`swarm verify\` on an N-link
                chain (default 50): in process against embedded Postgres, and the CLI on its bundle
  --npm-test    wall time of \`npm test\`, once (slow; not in the default set)
  --json        print one JSON object instead of text
  --keep        keep the scratch folders under .swarmflow/bench

With no section flag: --startup --cli --tasks 20 --registry 200.`;

interface Options {
  startup: boolean;
  cli: boolean;
  tasks: number | undefined;
  agents: number | undefined;
  webhooks: number | undefined;
  telegram: number | undefined;
  registry: number | undefined;
  killRecovery: boolean;
  screenshots: number | undefined;
  reviewers: boolean;
  evidence: number | undefined;
  npmTest: boolean;
  json: boolean;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { startup: false, cli: false, tasks: undefined, agents: undefined, webhooks: undefined, telegram: undefined, registry: undefined, killRecovery: false, screenshots: undefined, reviewers: false, evidence: undefined, npmTest: false, json: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    if (flag === '--startup') opts.startup = true;
    else if (flag === '--cli') opts.cli = true;
    else if (flag === '--npm-test') opts.npmTest = true;
    else if (flag === '--kill-recovery') opts.killRecovery = true;
    else if (flag === '--reviewers') opts.reviewers = true;
    else if (flag === '--json') opts.json = true;
    else if (flag === '--keep') opts.keep = true;
    else if (flag === '--tasks') {
      const value = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i] : undefined);
      opts.tasks = value === undefined ? 20 : Number(value);
      if (!Number.isInteger(opts.tasks) || opts.tasks < 1 || opts.tasks > 500) throw new Error(`--tasks takes a number from 1 to 500, not ${value}`);
    } else if (flag === '--agents') {
      const value = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i] : undefined);
      opts.agents = value === undefined ? 8 : Number(value);
      if (!Number.isInteger(opts.agents) || opts.agents < 1 || opts.agents > 100) throw new Error(`--agents takes a number from 1 to 100, not ${value}`);
    } else if (flag === '--webhooks') {
      const value = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i] : undefined);
      opts.webhooks = value === undefined ? 100 : Number(value);
      if (!Number.isInteger(opts.webhooks) || opts.webhooks < 1 || opts.webhooks > 10_000) throw new Error(`--webhooks takes a number from 1 to 10000, not ${value}`);
    } else if (flag === '--telegram') {
      const value = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i] : undefined);
      opts.telegram = value === undefined ? 20 : Number(value);
      if (!Number.isInteger(opts.telegram) || opts.telegram < 1 || opts.telegram > 1_000) throw new Error(`--telegram takes a number from 1 to 1000, not ${value}`);
    } else if (flag === '--registry') {
      const value = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i] : undefined);
      opts.registry = value === undefined ? 200 : Number(value);
      if (!Number.isInteger(opts.registry) || opts.registry < 1 || opts.registry > 2_000) throw new Error(`--registry takes a number from 1 to 2000, not ${value}`);
    } else if (flag === '--screenshots') {
      const value = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i] : undefined);
      opts.screenshots = value === undefined ? 3 : Number(value);
      if (!Number.isInteger(opts.screenshots) || opts.screenshots < 1 || opts.screenshots > 50) throw new Error(`--screenshots takes a number from 1 to 50, not ${value}`);
    } else if (flag === '--evidence') {
      const value = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i] : undefined);
      opts.evidence = value === undefined ? 50 : Number(value);
      if (!Number.isInteger(opts.evidence) || opts.evidence < 1 || opts.evidence > 10_000) throw new Error(`--evidence takes a number from 1 to 10000, not ${value}`);
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  if (!opts.startup && !opts.cli && opts.tasks === undefined && opts.agents === undefined && opts.webhooks === undefined && opts.telegram === undefined && opts.registry === undefined && !opts.killRecovery && opts.screenshots === undefined && !opts.reviewers && opts.evidence === undefined && !opts.npmTest) {
    opts.startup = true;
    opts.cli = true;
    opts.tasks = 20;
    opts.registry = 200;
  }
  return opts;
}

// ---- Ctrl-C: stop what we started, then exit ----
// The measuring process runs as a child of this one (see main): the Temporal dev server that
// TestWorkflowEnvironment spawns writes its banner to the inherited stdout, which must stay clean.
const RESULTS_FILE_ENV = 'SWARM_BENCH_RESULTS_FILE';
const cleanups = new Set<() => Promise<unknown>>();
function onCleanup(fn: () => unknown): () => void {
  const wrapped = () => Promise.resolve().then(fn);
  cleanups.add(wrapped);
  return () => cleanups.delete(wrapped);
}
function handleSignals(): void {
  let firstAt: number | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A terminal's Ctrl-C reaches both processes and the parent forwards it: the same press twice.
      if (firstAt !== undefined) {
        if (Date.now() - firstAt > 2_000) process.exit(130);
        return;
      }
      firstAt = Date.now();
      progress(`${signal}: stopping what the bench started (again to exit at once)`);
      void Promise.allSettled([...cleanups].map((fn) => fn())).then(() => process.exit(130));
    });
  }
}

// ---- text output ----
function memoryLine(m: MemoryPeak): string {
  const parts = GROUPS.filter((g) => g !== 'other' || m.groups.other > 0).map((g) => `${g} ${mb(m.groups[g])}${g === 'other' && m.otherNames.length > 0 ? `: ${m.otherNames.join(', ')}` : ''}`);
  return `${mb(m.hwm)} (${parts.join(', ')})`;
}

function medianMemory(runs: StartupRun[]): MemoryPeak {
  const pick = (f: (m: MemoryPeak) => number) => median(runs.map((r) => f(r.memory)));
  const groups = Object.fromEntries(GROUPS.map((g) => [g, pick((m) => m.groups[g])])) as MemoryPeak['groups'];
  const otherNames = [...new Set(runs.flatMap((r) => r.memory.otherNames))].sort();
  return { hwm: pick((m) => m.hwm), groups, rss: pick((m) => m.rss), pss: pick((m) => m.pss), samples: pick((m) => m.samples), processes: runs[0]!.memory.processes, otherNames };
}

function startupText(r: StartupResult): string[] {
  const ready = r.fresh.map((x) => x.readyMs);
  const reported = r.fresh.flatMap((x) => (x.reportedMs === undefined ? [] : [x.reportedMs]));
  const mem = medianMemory(r.fresh);
  const restart = r.restart;
  return [
    `startup: ready in ${seconds(median(ready))} (median of ${ready.length}: ${ready.map((v) => seconds(v).replace(' s', '')).join(', ')} s; the banner's own figure ${seconds(median(reported))}), ` +
      `peak memory ${memoryLine(mem)}`,
    `  peak memory = largest sum over live processes of VmHWM, sampled every 100 ms until ready; at one instant: RSS ${mb(mem.rss)}, PSS ${mb(mem.pss)} (Postgres's shared memory counted once)`,
    `  per run: ${r.fresh.map((x, i) => `#${i + 1} ${seconds(x.readyMs)} / ${mb(x.memory.hwm)} (node ${mb(x.memory.groups.node)}, temporal ${mb(x.memory.groups.temporal)}, postgres ${mb(x.memory.groups.postgres)})`).join('; ')}`,
    `  stop after SIGINT: median ${seconds(median(r.fresh.map((x) => x.stopMs)))}, exit codes ${r.fresh.map((x) => x.exitCode).join(', ')}`,
    `startup (restart, existing state folder): ready in ${seconds(restart.readyMs)} (banner ${restart.reportedMs === undefined ? '?' : seconds(restart.reportedMs)}), peak memory ${memoryLine(restart.memory)}, stopped in ${seconds(restart.stopMs)} (exit ${restart.exitCode})`,
  ];
}

function cliStartText(r: CliStartResult): string[] {
  const stat = (values: number[]) => `median ${millis(median(values))} (min ${millis(min(values))}, max ${millis(max(values))})`;
  return [`cli start (spawn to exit, ${r.runs} runs): swarmflow --help ${stat(r.helpMs)}, --version ${stat(r.versionMs)}; node -e 0 ${stat(r.nodeMs)}`];
}

function dist(values: number[], fmt: (v: number) => string): string {
  return `median ${fmt(median(values))}, p90 ${fmt(percentile(values, 90))}, max ${fmt(max(values))}`;
}

function tasksText(r: TasksResult): string[] {
  const t = r.tasks;
  const of = (f: (x: TasksResult['tasks'][number]) => number) => t.map(f);
  const byActivity = new Map<string, number[]>();
  for (const x of t) for (const [name, ms] of Object.entries(x.timing.byActivity)) byActivity.set(name, [...(byActivity.get(name) ?? []), ms]);
  const slowest = [...byActivity.entries()]
    .map(([name, ms]) => ({ name, median: median(ms) }))
    .sort((a, b) => b.median - a.median)
    .slice(0, 5);
  const c = r.concurrency;
  return [
    `tasks: ${r.n} concurrent tasks merged in ${seconds(r.wallMs)} wall time (instant scripted agent, CI \`true\`, no reviewers; setup ${seconds(r.setupMs)}, and the workflow bundle ${seconds(r.bundleMs)} built beforehand in the reporting process, neither counted)`,
    `  per task, start → merged: ${dist(of((x) => x.startToMergedMs), seconds)} (to awaiting_approval ${dist(of((x) => x.toReadyMs), seconds)}; decide ${millis(median(of((x) => x.approveMs)))}; approve → merged ${millis(median(of((x) => x.toMergeMs)))}, medians)`,
    `  orchestration overhead per task (workflow start→close − time activities ran − approval wait, from history): ${dist(of((x) => x.timing.overheadMs), millis)}`,
    `    of a workflow wall time of ${millis(median(of((x) => x.timing.wallMs)))} with activities running ${millis(median(of((x) => x.timing.activityMs)))} and ${millis(median(of((x) => x.timing.approvalWaitMs)))} waiting for approval (medians); ` +
      `overhead parts: workflow tasks ${millis(median(of((x) => x.timing.workflowTaskMs)))} over ${median(of((x) => x.timing.workflowTasks))} tasks, activity queueing ${millis(median(of((x) => x.timing.activityQueueMs)))} over ${median(of((x) => x.timing.activities))} activities`,
    `    slowest activities (median per task): ${slowest.map((a) => `${a.name} ${millis(a.median)}`).join(', ')}`,
    `  history events per task: median ${median(of((x) => x.timing.events))}, max ${max(of((x) => x.timing.events))}`,
    `  worker process (both workers, client and bench in one node process): peak RSS ${mb(r.worker.rssPeak)} (sampled every 100 ms), VmHWM ${mb(r.worker.hwm)}; dev server ${mb(r.tree.groups.temporal)}, Postgres ${mb(r.tree.groups.postgres)} (peak VmHWM sums)`,
    ...targetsText(r),
    `  worker concurrency: SDK defaults, the workers set none — host queue ${c.host.activitySlots ?? '?'} activity slots; orchestration queue ${c.orchestration.workflowTaskSlots ?? '?'} workflow task slots, ${c.orchestration.activitySlots ?? '?'} activity slots, ${c.orchestration.maxCachedWorkflows ?? '?'} cached workflows`,
  ];
}

/** Issue #15's targets, each figure beside its own. */
function tasksTargets(r: TasksResult) {
  const overhead = median(r.tasks.map((x) => x.timing.overheadMs));
  // The workflow threads also answer the bench's state queries (one per poll): each is an activation too.
  const activations = r.tasks.reduce((sum, x) => sum + x.timing.workflowTasks + x.polls, 0);
  return {
    workflowTaskCpuMs: { value: activations > 0 ? r.workflowThreadCpuMs / activations : NaN, target: 5, activations },
    overheadMs: { value: overhead, target: r.n <= 1 ? 500 : r.n <= 20 ? 3_000 : NaN },
    overheadToEmptyRoundTrip: { value: overhead / r.emptyRoundTripMs, emptyRoundTripMs: r.emptyRoundTripMs },
    historyEvents: { value: median(r.tasks.map((x) => x.timing.events)), target: 150 },
    failedWorkflowTasks: { value: r.tasks.reduce((sum, x) => sum + x.timing.failedWorkflowTasks, 0), target: 0 },
    workerRssMb: { value: toMb(r.worker.rssPeak), target: 400, atTasks: 200 },
  };
}

function targetsText(r: TasksResult): string[] {
  const t = tasksTargets(r);
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const overheadTarget = Number.isNaN(t.overheadMs.target) ? 'no target at this N' : `target ≤ ${millis(t.overheadMs.target)}: ${mark(t.overheadMs.value <= t.overheadMs.target)}`;
  return [
    `  against issue #15's targets:`,
    `    a workflow task's worker CPU (the workflow threads' CPU ÷ ${t.workflowTaskCpuMs.activations} activations: workflow tasks and the bench's state queries; mean): ${t.workflowTaskCpuMs.value.toFixed(1)} ms — target ≤ ${t.workflowTaskCpuMs.target} ms: ${mark(t.workflowTaskCpuMs.value <= t.workflowTaskCpuMs.target)}`,
    `    orchestration overhead per task, median: ${millis(t.overheadMs.value)} — ${overheadTarget}`,
    `    the same as a ratio to an empty workflow's round trip in this run (${millis(t.overheadToEmptyRoundTrip.emptyRoundTripMs)}, median of 20 alone): ${t.overheadToEmptyRoundTrip.value.toFixed(1)}×`,
    `    history events per task, median: ${t.historyEvents.value} — target ≤ ${t.historyEvents.target}: ${mark(t.historyEvents.value <= t.historyEvents.target)}`,
    `    failed workflow tasks: ${t.failedWorkflowTasks.value} — target ${t.failedWorkflowTasks.target}: ${mark(t.failedWorkflowTasks.value === 0)}`,
    `    worker peak RSS: ${t.workerRssMb.value} MB — target ≤ ${t.workerRssMb.target} MB at ${t.workerRssMb.atTasks} tasks${r.n >= t.workerRssMb.atTasks ? `: ${mark(t.workerRssMb.value <= t.workerRssMb.target)}` : ' (run --tasks 200 to check it)'}`,
  ];
}

function agentsText(r: AgentsResult): string[] {
  const held = r.tasks.filter((x) => x.held);
  const reasons = [...new Set(held.flatMap((x) => x.holdReasons))];
  const toAgent = r.tasks.flatMap((x) => (x.sessionFirstMs === undefined ? [] : [x.sessionFirstMs]));
  const agentRan = r.tasks.flatMap((x) => (x.sessionFirstMs === undefined || x.sessionLastMs === undefined ? [] : [x.sessionLastMs - x.sessionFirstMs]));
  const checks = r.tasks.map((x) => x.capacityChecks);
  const passed = r.tasks.flatMap((x) => (x.lastCheckMs === undefined ? [] : [x.lastCheckMs]));
  const spawned = r.tasks.flatMap((x) => (x.spawnedMs === undefined ? [] : [x.spawnedMs]));
  return [
    `agents: ${r.n} concurrent tasks merged in ${seconds(r.wallMs)} wall time (scripted agent sleeps ${seconds(r.agentSleepMs)} then commits, CI \`true\`, no reviewers; setup ${seconds(r.setupMs)}, not counted)`,
    `  host limits: maxAgents ${r.maxAgents} and minFreeMemoryMb ${r.minFreeMemoryMb} (defaults), spawnHoldRetry ${r.spawnHoldRetry} (set by the bench; the default is 30s)`,
    `  most agents at once: ${r.peakAgents} (first at ${seconds(r.peakAt)}; agent tmux sessions listed every 100 ms, ${r.sessionSamples} listings${r.sessionSampleErrors > 0 ? `, ${r.sessionSampleErrors} failed` : ''})`,
    `  tasks held at spawn: ${held.length} of ${r.n}${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`,
    `  bench start → each agent session first listed: ${dist(toAgent, seconds)}; each session listed for ${dist(agentRan, seconds)} (${toAgent.length} of ${r.n} sessions seen)`,
    `  capacity checks (spawnCapacity activities in the histories): ${checks.reduce((a, b) => a + b, 0)} in all, ${min(checks)}–${max(checks)} per task; ` +
      `each task's passing (last) check completed between ${seconds(min(passed))} and ${seconds(max(passed))}, the first agent spawn completed at ${seconds(min(spawned))} (server time from the start)`,
    `  per task, start → merged: ${dist(r.tasks.map((x) => x.startToMergedMs), seconds)}`,
    `  worker process (both workers, client and bench in one node process): peak RSS ${mb(r.worker.rssPeak)} while the tasks ran (sampled every 100 ms), VmHWM ${mb(r.worker.hwm)} (setup and workflow bundle included)`,
  ];
}

function webhooksText(r: WebhooksResult): string[] {
  const d = r.deliveries;
  const stat = (values: number[]) => `median ${millis(median(values))}, p95 ${millis(percentile(values, 95))}, max ${millis(max(values))}`;
  return [
    `webhooks: ${r.n} signed pull_request deliveries, one at a time, to the real webhook server signalling a task workflow at its approval gate (dev server; setup ${seconds(r.setupMs)}, not counted)`,
    `  POST → WorkflowExecutionSignaled in the history (describe() polled): ${stat(d.map((x) => x.signaledMs))}`,
    `  POST → HTTP 200 (signature, routing, signal RPC): ${stat(d.map((x) => x.httpMs))}`,
    `  signaled → the workflow's next workflow task completed (server timestamps): ${stat(d.map((x) => x.reactedMs))}`,
    `  history: ${r.historyBefore} events before, ${r.historyAfter} after`,
  ];
}

function telegramText(r: TelegramResult): string[] {
  const stat = (values: number[]) => `median ${millis(median(values))}, p95 ${millis(percentile(values, 95))}, max ${millis(max(values))}`;
  return [
    `telegram: one task's message against the Bot API stand-in (dev server, embedded Postgres, the worker's outbox sender and long poller)`,
    `  ready for approval: outbox row written → sendMessage received: ${millis(r.readyMs)}`,
    `  ${r.n} more events, one at a time: notifier called → editMessageText received: ${stat(r.eventsMs)}`,
    `  an approver's press → answerCallbackQuery (poll, signed decide, merge): ${millis(r.pressAnsweredMs)}; → the message edited to merged: ${millis(r.pressEditedMs)}`,
  ];
}

function telegramJson(r: TelegramResult) {
  const stat = (values: number[]) => ({ median: round(median(values) * 10) / 10, p95: round(percentile(values, 95) * 10) / 10, max: round(max(values) * 10) / 10 });
  return { n: r.n, readyMs: round(r.readyMs), eventsMs: stat(r.eventsMs), pressAnsweredMs: round(r.pressAnsweredMs), pressEditedMs: round(r.pressEditedMs) };
}

function evidenceText(r: EvidenceResult): string[] {
  const us = (v: number) => `${v.toFixed(0)} µs`;
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  return [
    `evidence: per artifact (${r.samples} artifacts, statements of ${(r.payloadBytes.median / 1024).toFixed(1)} kB median, ${(r.payloadBytes.max / 1024).toFixed(1)} kB max): sign ${us(r.signUs)}, verify ${us(r.verifyUs)}`,
    `  storing a link: Postgres insert (link + artifact, one transaction) ${ms(r.insertMs)}, spool append with fsync ${ms(r.spoolAppendMs)}`,
    `  a ${r.links}-link chain: verifyChain ${ms(median(r.chainMs))} median of ${r.chainMs.length}; swarm verify in process (Postgres read, verify, report) ${millis(median(r.commandMs))} median of ${r.commandMs.length}; \`swarmflow verify --bundle\` as a process ${millis(median(r.cliMs))} median of ${r.cliMs.length} (the CLI's start included)`,
  ];
}

const evidenceJson = (r: EvidenceResult) => ({ ...r, chainMs: r.chainMs.map(round), commandMs: r.commandMs.map(round), cliMs: r.cliMs.map(round), signUs: Math.round(r.signUs), verifyUs: Math.round(r.verifyUs) });

function npmTestText(r: NpmTestResult): string[] {
  const lines = [`npm test: ${seconds(r.wallMs)} wall time, exit ${r.exitCode}${r.suites ? `; suites ${r.suites}` : ''}${r.tests ? `; tests ${r.tests}` : ''}`];
  if (r.outputTail) lines.push('  last output:', ...r.outputTail.split('\n').map((l) => `    ${l}`));
  return lines;
}

// ---- JSON output: times in ms, memory in MB ----
function memoryJson(m: MemoryPeak) {
  return { peakMb: toMb(m.hwm), groupsMb: Object.fromEntries(GROUPS.map((g) => [g, toMb(m.groups[g])])), rssMb: toMb(m.rss), pssMb: toMb(m.pss), samples: m.samples, processes: m.processes, otherNames: m.otherNames };
}

function startupJson(r: StartupResult) {
  const run = (x: StartupRun) => ({ readyMs: round(x.readyMs), reportedMs: x.reportedMs, stopMs: round(x.stopMs), exitCode: x.exitCode, memory: memoryJson(x.memory) });
  return {
    readyMsMedian: round(median(r.fresh.map((x) => x.readyMs))),
    peakMbMedian: toMb(median(r.fresh.map((x) => x.memory.hwm))),
    fresh: r.fresh.map(run),
    restart: run(r.restart),
  };
}

function tasksJson(r: TasksResult) {
  const stat = (values: number[]) => ({ median: round(median(values)), p90: round(percentile(values, 90)), max: round(max(values)) });
  return {
    n: r.n,
    wallMs: round(r.wallMs),
    setupMs: round(r.setupMs),
    bundleMs: round(r.bundleMs),
    startToMergedMs: stat(r.tasks.map((x) => x.startToMergedMs)),
    toReadyMs: stat(r.tasks.map((x) => x.toReadyMs)),
    overheadMs: stat(r.tasks.map((x) => x.timing.overheadMs)),
    historyEvents: { median: median(r.tasks.map((x) => x.timing.events)), max: max(r.tasks.map((x) => x.timing.events)) },
    emptyRoundTripMs: round(r.emptyRoundTripMs),
    workflowThreadCpuMs: round(r.workflowThreadCpuMs),
    targets: tasksTargets(r),
    worker: { rssPeakMb: toMb(r.worker.rssPeak), hwmMb: toMb(r.worker.hwm), samples: r.worker.samples },
    tree: memoryJson(r.tree),
    concurrency: r.concurrency,
    tasks: r.tasks.map((x) => ({
      id: x.id,
      startToMergedMs: round(x.startToMergedMs),
      toReadyMs: round(x.toReadyMs),
      approveMs: round(x.approveMs),
      toMergeMs: round(x.toMergeMs),
      polls: x.polls,
      history: {
        events: x.timing.events,
        wallMs: round(x.timing.wallMs),
        activityMs: round(x.timing.activityMs),
        approvalWaitMs: round(x.timing.approvalWaitMs),
        overheadMs: round(x.timing.overheadMs),
        workflowTaskMs: round(x.timing.workflowTaskMs),
        activityQueueMs: round(x.timing.activityQueueMs),
        byActivityMs: Object.fromEntries(Object.entries(x.timing.byActivity).map(([k, v]) => [k, round(v)])),
      },
    })),
  };
}

function agentsJson(r: AgentsResult) {
  return {
    n: r.n,
    agentSleepMs: r.agentSleepMs,
    host: { maxAgents: r.maxAgents, minFreeMemoryMb: r.minFreeMemoryMb, spawnHoldRetry: r.spawnHoldRetry },
    wallMs: round(r.wallMs),
    setupMs: round(r.setupMs),
    peakAgents: r.peakAgents,
    peakAtMs: round(r.peakAt),
    heldTasks: r.tasks.filter((x) => x.held).length,
    sessionSamples: r.sessionSamples,
    sessionSampleErrors: r.sessionSampleErrors,
    worker: { rssPeakMb: toMb(r.worker.rssPeak), hwmMb: toMb(r.worker.hwm), samples: r.worker.samples },
    tasks: r.tasks.map((x) => ({
      id: x.id,
      held: x.held,
      holdReasons: x.holdReasons,
      startToMergedMs: round(x.startToMergedMs),
      toReadyMs: round(x.toReadyMs),
      sessionFirstMs: x.sessionFirstMs === undefined ? null : round(x.sessionFirstMs),
      sessionLastMs: x.sessionLastMs === undefined ? null : round(x.sessionLastMs),
      capacityChecks: x.capacityChecks,
      lastCheckMs: x.lastCheckMs === undefined ? null : round(x.lastCheckMs),
      spawnedMs: x.spawnedMs === undefined ? null : round(x.spawnedMs),
    })),
  };
}

function webhooksJson(r: WebhooksResult) {
  const stat = (values: number[]) => ({ median: round(median(values) * 10) / 10, p95: round(percentile(values, 95) * 10) / 10, max: round(max(values) * 10) / 10 });
  return {
    n: r.n,
    setupMs: round(r.setupMs),
    signaledMs: stat(r.deliveries.map((x) => x.signaledMs)),
    httpMs: stat(r.deliveries.map((x) => x.httpMs)),
    reactedMs: stat(r.deliveries.map((x) => x.reactedMs)),
    historyBefore: r.historyBefore,
    historyAfter: r.historyAfter,
  };
}

function reviewersText(r: ReviewersResult): string[] {
  const stat = (ms: number[]) => `median ${seconds(median(ms))} (min ${seconds(min(ms))}, max ${seconds(max(ms))})`;
  return [
    `reviewers: codex + claude + gemini on a ${r.diffLines}-line diff, scripted model answering at once, ${r.runs} runs each`,
    ...r.rounds.map((x) => `  round with ${x.slots} heavy slot(s)${x.slots === 1 ? ' (default host: one after another)' : ' (in parallel)'}: ${stat(x.ms)}`),
    ...Object.entries(r.aloneMs).map(([kind, ms]) => `  ${kind.padEnd(6)} alone: ${stat(ms)}`),
  ];
}

function killRecoveryText(r: KillRecoveryResult): string[] {
  return [
    `kill-recovery: the worker process SIGKILLed during each step and started again at once (first start ${seconds(r.firstStartMs)}; the task then ${r.status})`,
    ...r.kills.map((k) => `  ${k.what.padEnd(38)} ${k.activity.padEnd(17)} runs again ${seconds(k.recoveredMs).padStart(7)} after the kill (attempt ${k.attemptBefore} → ${k.attemptAfter}); new worker ready in ${seconds(k.restartMs)}`),
  ];
}

function screenshotsText(r: ScreenshotsResult): string[] {
  const ratios = r.diffRatios[0] ?? {};
  return [
    `screenshots: a two-route capture (preview started on base and head, one Chromium, 4 screenshots, 2 diffs) in ${seconds(median(r.wallMs))} wall time (median of ${r.runs}: ${r.wallMs.map((v) => seconds(v).replace(' s', '')).join(', ')} s)`,
    `  Chromium's peak RSS during a capture (its process tree summed, sampled every 50 ms): median ${mb(median(r.chromiumPeakRss))}, max ${mb(max(r.chromiumPeakRss))}; ` +
      `PSS (shared pages counted once) median ${mb(median(r.chromiumPeakPss))}; up to ${max(r.chromiumProcesses)} chromium processes`,
    `  diff ratios: ${Object.entries(ratios).map(([route, ratio]) => `${route} ${(ratio * 100).toFixed(2)}%`).join(', ')}${r.evidenceDir ? ` (last capture in ${r.evidenceDir})` : ''}`,
  ];
}

interface Results {
  startedAt: string;
  startup?: StartupResult;
  cli?: CliStartResult;
  tasks?: TasksResult;
  agents?: AgentsResult;
  webhooks?: WebhooksResult;
  telegram?: TelegramResult;
  registry?: RegistryResult;
  killRecovery?: KillRecoveryResult;
  screenshots?: ScreenshotsResult;
  reviewers?: ReviewersResult;
  evidence?: EvidenceResult;
  npmTest?: NpmTestResult;
}

/** Whether a section runs workers in the measuring process (a bench world, see world.ts). */
const usesWorkers = (opts: Options) => opts.tasks !== undefined || opts.agents !== undefined || opts.webhooks !== undefined || opts.telegram !== undefined || opts.registry !== undefined;

/** The child: measures, and writes the raw results to the file the parent named. */
async function measure(opts: Options, resultsFile: string): Promise<void> {
  handleSignals();
  // npm test gets the environment the bench started with, before the tasks section sets anything.
  const pristineEnv = { ...process.env };
  delete pristineEnv[RESULTS_FILE_ENV];
  const results: Results = { startedAt: new Date().toISOString() };
  // The harness helpers (sampleRepo, stackEnv) write under SWARM_TEST_RUN_DIR, as in `npm test`.
  const harnessDir = createRunDir('swarmflow-bench');
  process.env.SWARM_TEST_RUN_DIR = harnessDir;
  const removeHarnessDir = () => rmSync(harnessDir, { recursive: true, force: true });
  const unregister = onCleanup(removeHarnessDir);
  try {
    await measureSections(opts, results, pristineEnv);
  } finally {
    unregister();
    if (!opts.keep) removeHarnessDir();
  }
  writeFileSync(resultsFile, JSON.stringify(results));
}

async function measureSections(opts: Options, results: Results, pristineEnv: NodeJS.ProcessEnv): Promise<void> {
  // The stack and the CLI run compiled, as `npm start` and a user run them.
  ensureBuilt();
  if (opts.startup) results.startup = await benchStartup({ keep: opts.keep, onCleanup });
  if (opts.cli) results.cli = benchCliStart();
  // Temporal's runtime, once, before the first section that runs workers: warnings only, and no
  // signal handling of its own (ours stops everything).
  if (usesWorkers(opts)) Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  if (opts.tasks !== undefined) results.tasks = await benchTasks({ n: opts.tasks, keep: opts.keep, onCleanup });
  if (opts.agents !== undefined) results.agents = await benchAgents({ n: opts.agents, keep: opts.keep, onCleanup });
  if (opts.webhooks !== undefined) results.webhooks = await benchWebhooks({ n: opts.webhooks, keep: opts.keep, onCleanup });
  if (opts.telegram !== undefined) results.telegram = await benchTelegram({ n: opts.telegram, keep: opts.keep, onCleanup });
  if (opts.registry !== undefined) results.registry = await benchRegistry({ n: opts.registry, keep: opts.keep, onCleanup });
  if (opts.killRecovery) results.killRecovery = await benchKillRecovery({ keep: opts.keep, onCleanup });
  if (opts.screenshots !== undefined) results.screenshots = await benchScreenshots({ runs: opts.screenshots, keep: opts.keep });
  if (opts.reviewers) results.reviewers = await benchReviewers();
  if (opts.evidence !== undefined) results.evidence = await benchEvidence({ n: opts.evidence, keep: opts.keep, onCleanup });
  if (opts.npmTest) {
    progress('npm test (this takes a few minutes)');
    results.npmTest = await benchNpmTest(pristineEnv);
  }
}

/** The parent: runs the child with its stdout sent to stderr, then prints the results. */
async function report(opts: Options): Promise<number> {
  const dir = benchDir('results');
  const resultsFile = join(dir, 'results.json');
  try {
    // The sections on a bench world run prebuilt workflow bundles: no webpack in the measured process.
    const bundles = usesWorkers(opts) ? await buildBundles(dir, new DefaultLogger('WARN')) : {};
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      env: { ...process.env, ...bundles, [RESULTS_FILE_ENV]: resultsFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.pipe(process.stderr);
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    await exited(child);
    if (child.exitCode !== 0 || !existsSync(resultsFile)) return child.exitCode ?? 1;
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as Results;
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({
          startedAt: results.startedAt,
          node: process.version,
          cpus: availableParallelism(),
          ...(results.startup ? { startup: startupJson(results.startup) } : {}),
          ...(results.cli ? { cli: { runs: results.cli.runs, helpMsMedian: round(median(results.cli.helpMs)), versionMsMedian: round(median(results.cli.versionMs)), nodeMsMedian: round(median(results.cli.nodeMs)) } } : {}),
          ...(results.tasks ? { tasks: tasksJson(results.tasks) } : {}),
          ...(results.agents ? { agents: agentsJson(results.agents) } : {}),
          ...(results.webhooks ? { webhooks: webhooksJson(results.webhooks) } : {}),
          ...(results.telegram ? { telegram: telegramJson(results.telegram) } : {}),
          ...(results.registry ? { registry: { ...results.registry, clientMs: results.registry.clientMs.map(round), cliMs: results.registry.cliMs.map(round), queriedMs: round(results.registry.queriedMs), setupMs: round(results.registry.setupMs) } } : {}),
          ...(results.killRecovery ? { killRecovery: results.killRecovery } : {}),
          ...(results.screenshots
            ? { screenshots: { runs: results.screenshots.runs, wallMs: results.screenshots.wallMs.map(round), chromiumPeakRssMb: results.screenshots.chromiumPeakRss.map(toMb), chromiumPeakPssMb: results.screenshots.chromiumPeakPss.map(toMb), chromiumProcesses: results.screenshots.chromiumProcesses, diffRatios: results.screenshots.diffRatios } }
            : {}),
          ...(results.reviewers ? { reviewers: { ...results.reviewers, rounds: results.reviewers.rounds.map((x) => ({ slots: x.slots, ms: x.ms.map(round) })), aloneMs: Object.fromEntries(Object.entries(results.reviewers.aloneMs).map(([k, ms]) => [k, ms.map(round)])) } } : {}),
          ...(results.evidence ? { evidence: evidenceJson(results.evidence) } : {}),
          ...(results.npmTest ? { npmTest: { ...results.npmTest, wallMs: round(results.npmTest.wallMs) } } : {}),
        })}\n`,
      );
    } else {
      const lines = [
        ...(results.startup ? startupText(results.startup) : []),
        ...(results.cli ? cliStartText(results.cli) : []),
        ...(results.tasks ? tasksText(results.tasks) : []),
        ...(results.agents ? agentsText(results.agents) : []),
        ...(results.webhooks ? webhooksText(results.webhooks) : []),
        ...(results.telegram ? telegramText(results.telegram) : []),
        ...(results.registry ? registryText(results.registry) : []),
        ...(results.killRecovery ? killRecoveryText(results.killRecovery) : []),
        ...(results.screenshots ? screenshotsText(results.screenshots) : []),
        ...(results.reviewers ? reviewersText(results.reviewers) : []),
        ...(results.evidence ? evidenceText(results.evidence) : []),
        ...(results.npmTest ? npmTestText(results.npmTest) : []),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const resultsFile = process.env[RESULTS_FILE_ENV];
  if (!resultsFile) return report(opts);
  await measure(opts, resultsFile);
  return 0;
}

main().then(
  // The Temporal native runtime can keep a handle open after teardown (sdk-typescript#928).
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
