// Signs in an agent's transcript that it lacked context (the runbook's context_gap), read from
// the steps of its CLI's events:
//   file_not_found  a tool or command failed on a path that does not exist
//   search_empty    a search (Grep/Glob, search_file_content/glob, rg/grep/find/git grep) found nothing
//   said_missing    the model said it could not find / understand something, or that it does not exist
// A failing test or a refused permission is no sign: the agent had what it needed to get there.
import { LACKED_CONTEXT } from '../classify.ts';
import { headOf } from '../text.ts';
import { repoPath } from './runners/common.ts';
import { stepsOf, type AgentCli, type Step } from './steps.ts';

export interface MissingContextSign {
  kind: 'file_not_found' | 'search_empty' | 'said_missing';
  /** The path, pattern or thing it was missing, where the step names it. */
  target?: string;
  /** The line that shows it, capped. */
  text: string;
}

/** Signs kept: a transcript of a lost agent repeats itself. */
export const MAX_SIGNS = 10;

const NOT_FOUND = /no such file or directory|file does not exist|file not found|path does not exist|ENOENT|cannot find module|cannot access '[^']+'|does not exist/i;
const NO_MATCHES = /^(?:no matches found|no files found|found 0 (?:files|matches))/i;
const SEARCH_TOOL = /^(?:grep|glob|search_file_content|glob_search|file_search)$/i;
const SEARCH_COMMAND = /^\s*(?:rg|grep|egrep|fgrep|ag|git grep|find|fd)\b/;
const SAID_MISSING = new RegExp(`${LACKED_CONTEXT.source}|\\b(?:does not|doesn['’]t) (?:seem to )?exist\\b|\\bthere is no (?:such )?(?:file|module|function|class|interface|type|export)\\b`, 'i');
const PATH_KEYS = ['file_path', 'absolute_path', 'path', 'notebook_path', 'dir_path'];
const PATTERN_KEYS = ['pattern', 'query', 'glob'];

/** `root`: the worktree's absolute path, so the paths the agent's tools name read as the repository's. */
export function missingContext(cli: AgentCli, events: unknown[], root?: string): MissingContextSign[] {
  const signs: MissingContextSign[] = [];
  const seen = new Set<string>();
  for (const step of stepsOf(cli, events)) {
    const found = step.kind === 'text' ? saidMissing(step.text) : toolSign(step);
    const sign = found?.kind === 'file_not_found' && found.target ? { ...found, target: repoPath(found.target, root) } : found;
    const key = sign && `${sign.kind}:${sign.target ?? sign.text}`;
    if (!sign || !key || seen.has(key)) continue;
    seen.add(key);
    signs.push(sign);
    if (signs.length >= MAX_SIGNS) break;
  }
  return signs;
}

function toolSign(step: Extract<Step, { kind: 'tool' }>): MissingContextSign | undefined {
  const command = typeof step.input.command === 'string' ? step.input.command : undefined;
  const output = step.output.trim();
  const searched = SEARCH_TOOL.test(step.name) || (command !== undefined && SEARCH_COMMAND.test(command));
  if (searched) {
    // grep and rg exit 1 on no match, with nothing printed; the tools say so in words.
    const empty = NO_MATCHES.test(output) || (output === '' && (step.exitCode === 1 || step.exitCode === undefined)) || (step.exitCode === 1 && /^Exit code 1\s*$/.test(output));
    if (empty) return { kind: 'search_empty', target: inputValue(step, PATTERN_KEYS) ?? command, text: headOf(firstLine(output) || 'no match', 200) };
  }
  const failed = !step.ok || (step.exitCode !== undefined && step.exitCode !== 0);
  const line = output.split('\n').find((l) => NOT_FOUND.test(l));
  // Claude wraps a tool's refusal in <tool_use_error> tags.
  if (failed && line) return { kind: 'file_not_found', target: inputValue(step, PATH_KEYS) ?? pathIn(line), text: headOf(line.replace(/<\/?tool_use_error>/g, '').trim(), 200) };
  return undefined;
}

function saidMissing(text: string): MissingContextSign | undefined {
  const sentence = text.split(/(?<=[.!?])\s+|\n/).find((s) => SAID_MISSING.test(s));
  return sentence ? { kind: 'said_missing', target: quotedIn(sentence), text: headOf(sentence.trim(), 200) } : undefined;
}

const inputValue = (step: Extract<Step, { kind: 'tool' }>, keys: string[]) => keys.map((k) => step.input[k]).find((v): v is string => typeof v === 'string' && v !== '');
const firstLine = (text: string) => text.split('\n', 1)[0] ?? '';
/** `cat: src/x.ts: No such file…`, `open 'src/x.ts'`: the first thing that looks like a path. */
const pathIn = (line: string) => /[\w@.-]*\/[\w@./-]+|[\w-]+\.[a-z]{1,5}\b/.exec(line.replace(/^\w+:\s/, ''))?.[0];
/** What the model named in backticks or quotes ("I can't find `TemplateStore`"). */
// Not single quotes: "can't" would open one.
const quotedIn = (sentence: string) => {
  const m = /`([^`]{1,120})`|"([^"]{1,120})"|“([^”]{1,120})”/.exec(sentence);
  return m?.[1] ?? m?.[2] ?? m?.[3];
};
