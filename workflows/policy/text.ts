// Text helpers for what policy writes to agents and operators: bounded, one place to cap.

/** The last `max` characters: command output ends with the error that matters. */
export function tailOf(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}

/** The first `max` characters: prose (a finding, guidance) leads with its point. */
export function headOf(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** A control character other than tab and line breaks: what text a human writes must not hold. */
export const CONTROL_CHARACTER = /[^\P{Cc}\t\n\r]/u;

/** A UTF-16 surrogate without its other half: broken Unicode, which Postgres jsonb refuses. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

/** One line, no control characters: safe to type into a terminal session. */
export function oneLine(text: string): string {
  return text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
}

/** A fenced code block that the text itself cannot close early. */
export function fenced(text: string): string {
  const longestRun = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  return `${fence}\n${text}\n${fence}`;
}

export const shortSha = (sha: string) => sha.slice(0, 12);

/** "a, b and 3 more": names in a one-line detail without an unbounded list. */
export function listOf(items: string[], max = 5): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

/**
 * Terminal escapes removed: CI logs carry colours (CSI `ESC[…m`), cursor moves and OSC links
 * (`ESC]8;;url BEL`), which would split the words our parsers look for.
 */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;
export const stripAnsi = (text: string) => text.replace(ANSI, '');
