// A small deterministic secret scanner for the lines a change adds. Each rule is a token shape;
// a match whose value looks like a placeholder (low entropy, `xxxx`, "example", a variable
// reference) is not a secret. Evidence never holds the secret: a masked excerpt of its line.
import type { PolicyHit } from '../../workflows/task/types.ts';
import type { DiffFile } from './unified-diff.ts';

export interface SecretFinding {
  rule: string;
  /** The line with every secret on it masked, cut to a bounded length. */
  excerpt: string;
}

interface SecretRule {
  name: string;
  pattern: RegExp;
  /** Bits per character the value must reach; 0 for shapes that are never placeholders. */
  minEntropy: number;
  /** The visible start of a masked value: the token's public prefix, never more. */
  prefix: number;
}

const RULES: readonly SecretRule[] = [
  { name: 'private_key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g, minEntropy: 0, prefix: 31 },
  { name: 'aws_access_key_id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, minEntropy: 3, prefix: 4 },
  { name: 'github_token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g, minEntropy: 3.5, prefix: 4 },
  { name: 'github_token', pattern: /\bgithub_pat_[A-Za-z0-9_]{60,255}\b/g, minEntropy: 3.5, prefix: 11 },
  { name: 'slack_token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,250}\b/g, minEntropy: 3, prefix: 5 },
  { name: 'stripe_live_key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,250}\b/g, minEntropy: 3.5, prefix: 8 },
  { name: 'anthropic_api_key', pattern: /\bsk-ant-[A-Za-z0-9_-]{32,300}/g, minEntropy: 3.5, prefix: 7 },
  // After Anthropic's: sk-ant-… is claimed there (the masking pass runs every rule).
  { name: 'openai_api_key', pattern: /\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,300}/g, minEntropy: 3.5, prefix: 3 },
  { name: 'google_api_key', pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, minEntropy: 3.5, prefix: 4 },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{10,4000}\.eyJ[A-Za-z0-9_-]{10,8000}\.[A-Za-z0-9_-]{20,2000}/g, minEntropy: 3.5, prefix: 3 },
];

/** `password = "…"`, `apiKey: '…'`, `SECRET_TOKEN := "…"`: a named secret given a quoted literal. */
// Every repetition is bounded: an agent-written line must not make the scan quadratic (a line of
// "tokentoken…" took 50 s with an unbounded name before the keyword).
const ASSIGNMENT =
  /(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret)[A-Za-z0-9_.-]{0,64}["']?\s{0,8}(?::=|=>|=|:)\s{0,8}(["'`])([^"'`\s]{12,300})\1/gi;
const ASSIGNMENT_MIN_ENTROPY = 3.5;

/** What a placeholder looks like: `xxxx`, `****`, `<your-key>`, `${VAR}`, `{{ var }}`, "example", "changeme". */
const PLACEHOLDER = /x{4,}|X{4,}|\*{3,}|\.{3}|<[^>]*>|\$\{|\{\{|%\(|example|sample|dummy|placeholder|changeme|your[_-]|redacted|fake|test[_-]?key/i;

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length);
  return bits;
}

const looksReal = (value: string, minEntropy: number) => !PLACEHOLDER.test(value) && entropy(value) >= minEntropy;

/** A JWT is one only if its first part decodes to a JSON header naming an algorithm. */
function isJwt(value: string): boolean {
  try {
    const header: unknown = JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && 'alg' in header;
  } catch {
    return false;
  }
}

/** Documentation files, where a line marked as an example is not a leak. */
const DOC_FILE = /(?:^|\/)(?:docs?\/.*|[^/]*\.(?:md|mdx|markdown|rst|adoc|txt))$/i;
const MARKED_EXAMPLE = /\bexample\b/i;

const EXCERPT_MAX = 160;

export const mask = (value: string, prefix: number) => `${value.slice(0, Math.min(prefix, Math.floor(value.length / 4)))}…[redacted ${value.length} chars]`;

/** Every secret on one line as [start, end, rule, prefix]. */
function matchesOn(text: string): Array<{ start: number; end: number; rule: string; prefix: number }> {
  const found: Array<{ start: number; end: number; rule: string; prefix: number }> = [];
  const taken = (start: number, end: number) => found.some((f) => start < f.end && end > f.start);
  for (const rule of RULES) {
    for (const m of text.matchAll(rule.pattern)) {
      const start = m.index;
      const end = start + m[0].length;
      if (taken(start, end) || !looksReal(m[0], rule.minEntropy) || (rule.name === 'jwt' && !isJwt(m[0]))) continue;
      found.push({ start, end, rule: rule.name, prefix: rule.prefix });
    }
  }
  for (const m of text.matchAll(ASSIGNMENT)) {
    const value = m[2]!;
    const start = m.index + m[0].lastIndexOf(value);
    const end = start + value.length;
    // A variable's name or a call (process.env.TOKEN, getenv(...)) is quoted only in a template: not a literal secret.
    if (taken(start, end) || !looksReal(value, ASSIGNMENT_MIN_ENTROPY) || /^(?:process\.env|os\.environ|env\.)/.test(value)) continue;
    found.push({ start, end, rule: 'generic_secret_assignment', prefix: 0 });
  }
  return found.sort((a, b) => a.start - b.start);
}

function masked(text: string, found: ReturnType<typeof matchesOn>): string {
  let out = '';
  let at = 0;
  for (const f of found) {
    out += text.slice(at, f.start) + mask(text.slice(f.start, f.end), f.prefix);
    at = f.end;
  }
  out = `${out}${text.slice(at)}`.trim();
  return out.length > EXCERPT_MAX ? `${out.slice(0, EXCERPT_MAX)}…` : out;
}

/** A line as evidence: trimmed, cut, every secret on it masked (also one a doc marks as an example). */
export const excerptOf = (text: string) => masked(text, matchesOn(text));

/** The secrets one added line of `file` holds, each with the line's masked excerpt. */
export function scanLine(file: string, text: string): SecretFinding[] {
  const found = matchesOn(text);
  if (found.length === 0 || (DOC_FILE.test(file) && MARKED_EXAMPLE.test(text))) return [];
  const excerpt = masked(text, found);
  return found.map((f) => ({ rule: f.rule, excerpt }));
}

/** Rule 3 of the policy gate: every secret on an added line, its evidence masked. */
export function secretHits(files: readonly DiffFile[]): PolicyHit[] {
  return files.flatMap((file) =>
    file.added.flatMap(({ line, text }) => scanLine(file.path, text).map((f) => ({ rule: 'secret' as const, file: file.path, line, detail: `${f.rule}: ${f.excerpt}` }))),
  );
}
