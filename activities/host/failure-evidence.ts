// The evidence behind a failed attempt, read on the host where it lies (CI logs up to 1 MB each,
// the CLI's events, the diff, the base's commits since the branch point, the failing tests'
// sources) and classified here: the classifier is pure, and only its small verdict goes back into
// the workflow's history, never the raw evidence.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { LACKED_CONTEXT } from '../../workflows/policy/classify.ts';
import { tailOf } from '../../workflows/policy/text.ts';
import { classifyEvidence, type BaseCommit, type EvidenceClassification, type TaskScope } from '../../workflows/policy/evidence/classify.ts';
import { injection } from '../../workflows/policy/evidence/playbook.ts';
import type { AgentCli } from '../../workflows/policy/evidence/steps.ts';
import type { AgentFailure, CiCheck, FailureEvidence, PlaybookVerdict } from '../../workflows/task/types.ts';
import { parseJsonLines, readRegularFile } from '../agents/files.ts';
import { agentPaths, attemptDirName } from '../agents/paths.ts';
import { fileAt, git, mergeBaseOf, revParse } from '../git.ts';

/** A CI log is read from its end, at most this much: the failures are there, and a runaway log is not. */
export const CI_LOG_LIMIT = 1024 * 1024;
/** The failing tests' sources read for the injection's excerpt: a few files, each bounded. */
const MAX_SOURCES = 5;
const SOURCE_LIMIT = 256 * 1024;
const MAX_BASE_COMMITS = 20;
/** Files and tests kept in the verdict (the workflow's history): the injection names the first few anyway. */
const MAX_LISTED = 20;
const CLIS: readonly string[] = ['codex', 'claude', 'gemini'];
const MAX_SAID_LINES = 10;
const AGENT_TAIL_CHARS = 600;

export interface ReadFailureEvidenceInput {
  taskId: string;
  /** The kept logs of this start (AgentSession.keptLogs), where a run's events go once it ended. */
  keptLogs?: string;
  attempt: number;
  run?: number;
  /** The failure as the workflow saw it (its summary and short details). */
  evidence: FailureEvidence;
  agentFailure?: AgentFailure;
  /** The failed CI checks, with where their full output is kept. */
  checks?: Pick<CiCheck, 'name' | 'outputFile' | 'outputTail'>[];
  /** The orchestrator's repository holding the base branch and the head. */
  checkout: string;
  base: string;
  headSha?: string;
  scope: TaskScope;
}

export function createFailureEvidenceActivities({ stateDir }: { stateDir: string }) {
  const paths = agentPaths(stateDir);
  return {
    readFailureEvidence: async (input: ReadFailureEvidenceInput): Promise<PlaybookVerdict> => {
      const { checkout, base, headSha, evidence } = input;
      const baseSha = await revParse(checkout, `refs/heads/${base}`);
      const head = headSha && (await revParse(checkout, headSha)) ? headSha : undefined;
      const forkPoint = baseSha && head ? await mergeBaseOf(checkout, baseSha, head) : undefined;
      const conflict = evidence.source === 'conflict' ? { files: evidence.files, baseCommits: baseSha && forkPoint ? await baseCommits(checkout, forkPoint, baseSha) : [] } : undefined;
      const classification = classifyEvidence({
        source: evidence.source,
        summary: evidence.summary,
        details: evidence.source === 'agent_exit' ? agentSaid(evidence.details) : evidence.details,
        agentFailure: input.agentFailure,
        checks: input.checks?.map((c) => ({ name: c.name, output: ciOutput(c) })),
        transcript: evidence.source === 'agent_exit' ? transcript(paths.attempt(input.taskId, input.attempt, input.run), input) : undefined,
        changedFiles: forkPoint && head ? await changedFiles(checkout, forkPoint, head) : undefined,
        scope: input.scope,
        conflict,
      });
      const sources = head && classification.kind === 'test_regression' ? await testSources(checkout, head, classification) : {};
      const text = injection({ classification, scope: input.scope, sources });
      return {
        kind: classification.kind,
        rule: classification.rule,
        files: classification.files.slice(0, MAX_LISTED),
        tests: classification.tests.slice(0, MAX_LISTED),
        injection: text,
        title: (/^## (.+)$/m.exec(text)?.[1] ?? '').trim(),
        digest: evidenceDigest(classification),
      };
    },
  };
}

/** An agent's log without CLI events: the lines where it says what it lacked, else its end (where it stopped). */
function agentSaid(details: string[]): string[] {
  const lacked = details.flatMap((d) => d.split('\n')).filter((line) => LACKED_CONTEXT.test(line)).slice(0, MAX_SAID_LINES);
  return lacked.length > 0 ? [lacked.join('\n')] : details.map((d) => tailOf(d, AGENT_TAIL_CHARS));
}

/** The check's full output from its file (its end, bounded); a forge's check without one has its tail only. */
export function ciOutput(check: Pick<CiCheck, 'outputFile' | 'outputTail'>): string {
  if (!check.outputFile.startsWith('/')) return check.outputTail;
  return readEnd(check.outputFile, CI_LOG_LIMIT) ?? check.outputTail;
}

/**
 * A file's end, read regular-file-only: the CI commands run the agent's code, which can replace its
 * log by a symlink to a secret (or a FIFO that never ends) before the log is read for the next prompt.
 */
function readEnd(file: string, limit: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    const length = Math.min(stat.size, limit);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, stat.size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The run's CLI events, live or kept (gzipped once the run ended); none for a command agent. */
function transcript(files: ReturnType<ReturnType<typeof agentPaths>['attempt']>, input: ReadFailureEvidenceInput): { cli: AgentCli; events: unknown[] } | undefined {
  const record = readRegularFile(files.agentFile);
  const kind = record ? (JSON.parse(record) as { kind?: string }).kind : undefined;
  if (!kind || !CLIS.includes(kind)) return undefined;
  const live = readRegularFile(files.eventsFile);
  if (live !== undefined) return { cli: kind as AgentCli, events: parseJsonLines(live) };
  if (!input.keptLogs) return undefined;
  const kept = join(input.keptLogs, attemptDirName(input.attempt, input.run), 'events.jsonl.gz');
  try {
    return { cli: kind as AgentCli, events: parseJsonLines(gunzipSync(readFileSync(kept)).toString('utf8')) };
  } catch {
    // Not kept (the retention removed it, or the run kept no events): classified without it.
    return undefined;
  }
}

async function changedFiles(checkout: string, from: string, to: string): Promise<string[]> {
  const { stdout } = await git(checkout, ['diff', '--name-only', '-z', '--no-ext-diff', from, to]);
  return stdout.split('\0').filter(Boolean);
}

/** The base's commits since the branch point, newest first, with the files each touched. */
async function baseCommits(checkout: string, forkPoint: string, baseSha: string): Promise<BaseCommit[]> {
  const { stdout } = await git(checkout, ['log', `--max-count=${MAX_BASE_COMMITS}`, '--format=%x01%H%x00%s', '--name-only', `${forkPoint}..${baseSha}`]);
  return stdout
    .split('\x01')
    .filter(Boolean)
    .map((entry) => {
      const [header = '', ...files] = entry.split('\n');
      const [sha = '', subject = ''] = header.split('\0');
      return { sha, subject, files: files.filter(Boolean) };
    });
}

/** The failing tests' files at the head, for the injection's source excerpt. */
async function testSources(checkout: string, head: string, c: EvidenceClassification): Promise<Record<string, string>> {
  const sources: Record<string, string> = {};
  for (const file of [...new Set(c.failures.map((f) => f.file).filter((f): f is string => !!f))].slice(0, MAX_SOURCES)) {
    const text = await fileAt(checkout, head, file);
    if (text !== undefined && text.length <= SOURCE_LIMIT) sources[file] = text;
  }
  return sources;
}

/** The same failure twice has the same digest: the class and its parsed facts, without timings or shas. */
export function evidenceDigest(c: EvidenceClassification): string {
  const facts = c.failures.map((f) => [f.check, f.runner, f.file ?? '', f.test ?? '', f.rule ?? '', f.message.replace(/\d+(\.\d+)?\s?m?s\b/g, '')].join('|')).sort();
  const normalized = JSON.stringify({ kind: c.kind, files: [...c.files].sort(), tests: [...c.tests].sort(), facts, missing: c.missing.map((m) => `${m.kind}:${m.target ?? ''}`).sort() });
  return createHash('sha256').update(normalized).digest('hex');
}
