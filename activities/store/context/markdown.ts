// A markdown note as the vault reads it, Obsidian's way: optional YAML frontmatter (kind, title,
// repository, customer, paths, tags, author, sensitivity, constraint, created), `#tags` and
// `[[wikilinks]]` in the text. A link is kept as its shown text in the body and as a link.
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { NOTE_KINDS, SENSITIVITIES, parseNote, InvalidNoteError, type Note, type NoteInput } from '../../../workflows/context/notes.ts';

/** What the caller says for notes that do not say it themselves (`--kind`, `--sensitivity`, …). */
export type NoteDefaults = Partial<Pick<NoteInput, 'kind' | 'repository' | 'customer' | 'sensitivity' | 'author' | 'paths' | 'tags'>>;

const FRONTMATTER = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;
const WIKILINK = /\[\[([^\]|#\n]+)(?:#[^\]|\n]*)?(?:\|([^\]\n]+))?\]\]/g;
// Obsidian's tags: after a space or at a line's start, letters, digits, _, -, /; not digits only.
const TAG = /(?:^|[\s(])#([\p{L}\p{N}_/-]*[\p{L}_/-][\p{L}\p{N}_/-]*)/gu;
const CODE = /```[\s\S]*?```|`[^`\n]*`/g;

/** A YAML value as text: a mapping where a word belongs shows as JSON, for the schema to refuse or the reader to see. */
const scalar = (v: unknown): string => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
export const asList = (v: unknown): string[] | undefined => (v === undefined || v === null ? undefined : (Array.isArray(v) ? v.map(scalar) : scalar(v).split(',')).map((x) => x.trim().replace(/^#/, '')).filter(Boolean));
export const asText = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : scalar(v).trim() || undefined);

/** A markdown file's YAML frontmatter as `key: value` pairs, and the text after it; a problem named for the author to fix. */
export function splitFrontmatter(text: string): { meta: Record<string, unknown>; content: string } | { problem: string } {
  const match = FRONTMATTER.exec(text);
  if (!match) return { meta: {}, content: text };
  let meta: unknown;
  try {
    meta = parseYaml(match[1]!) ?? {};
  } catch (err) {
    return { problem: `frontmatter: not valid YAML (${(err as Error).message.split('\n')[0]}); fix it or remove the --- block` };
  }
  if (typeof meta !== 'object' || Array.isArray(meta)) return { problem: 'frontmatter: a block of `key: value` lines between the --- lines' };
  return { meta: meta as Record<string, unknown>, content: text.slice(match[0].length) };
}

function frontmatter(text: string, where: string): { meta: Record<string, unknown>; content: string } {
  const split = splitFrontmatter(text);
  if ('problem' in split) throw new InvalidNoteError(where, [split.problem]);
  return split;
}

/** The tags and link targets in the text (code left out), and the text with each link as its shown text. */
export function readObsidian(content: string): { body: string; tags: string[]; links: string[] } {
  const prose = content.replace(CODE, ' ');
  const tags = [...prose.matchAll(TAG)].map((m) => m[1]!.replace(/\/+$/, '')).filter(Boolean);
  const links = [...prose.matchAll(WIKILINK)].map((m) => m[1]!.trim());
  const body = content.replace(WIKILINK, (_, target: string, alias?: string) => (alias ?? target).trim());
  return { body, tags: [...new Set(tags)], links: [...new Set(links)] };
}

/** A kind named by the note's tags or its folder (`meetings/…`, `#incident`), for a vault with no frontmatter. */
function kindFrom(tags: string[], path: string | undefined): string | undefined {
  const words = [...tags, ...(path ? dirname(path).split('/') : [])].map((w) => w.toLowerCase().replace(/s$/, ''));
  return NOTE_KINDS.find((k) => words.includes(k));
}

/**
 * One markdown note. `path` (vault-relative) names it as a source and gives the title when nothing
 * else does; throws InvalidNoteError naming the file and every field to fix.
 */
export function parseMarkdownNote(text: string, { path, where = path ?? '(text)', defaults = {} }: { path?: string; where?: string; defaults?: NoteDefaults } = {}): Note {
  const { meta, content } = frontmatter(text, where);
  const { body: linked, tags: inlineTags, links } = readObsidian(content);
  // The first heading is the title when the frontmatter has none; the body is what follows it.
  const heading = /^\s*#[ \t]+(.+?)[ \t]*#*[ \t]*$/m.exec(linked);
  const firstLine = linked.trim().split('\n')[0]?.slice(0, 120).trim();
  const title = asText(meta.title) ?? heading?.[1] ?? (path ? basename(path).replace(/\.md$/i, '') : firstLine);
  const body = (!asText(meta.title) && heading ? linked.replace(heading[0], '') : linked).trim();
  const tags = [...new Set([...(asList(meta.tags) ?? asList(meta.tag) ?? []), ...inlineTags, ...(defaults.tags ?? [])])];
  const sensitivity = asText(meta.sensitivity) ?? SENSITIVITIES.find((s) => tags.includes(s)) ?? defaults.sensitivity;
  return parseNote(
    {
      kind: asText(meta.kind) ?? asText(meta.type) ?? kindFrom(tags, path) ?? defaults.kind,
      title,
      body: body || title,
      repository: asText(meta.repository) ?? asText(meta.repo) ?? defaults.repository,
      customer: asText(meta.customer) ?? defaults.customer,
      paths: asList(meta.paths) ?? defaults.paths ?? [],
      tags,
      links: [...new Set([...links, ...(asList(meta.links) ?? [])])],
      author: asText(meta.author) ?? defaults.author,
      ...(sensitivity ? { sensitivity } : {}),
      constraint: asText(meta.constraint),
      source: path,
      created: createdOf(meta.created ?? meta.date),
    },
    where,
  );
}

/** A frontmatter date (`2026-02-27`, a full ISO time, or YAML's own date) as ISO 8601; anything else is left for the schema to refuse. */
function createdOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const text = scalar(v).trim();
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00.000Z` : text;
}
