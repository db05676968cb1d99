// The vault's notes in Postgres (migration 007): keyed writes (the same source, or the same text,
// is the same note), listing, and the deterministic selection for a task's prompt.
import { createHash } from 'node:crypto';
import type { Db } from '../db.ts';
import { SENSITIVITIES, aboveTier, tokensOf, type ContextNote, type ContextQuery, type ContextSelection, type Note, type NoteKind, type Sensitivity, type StoredNote, type UpsertOutcome } from '../../../workflows/context/notes.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** An imported note is named by where it came from (edits update it); any other by its text. */
export const noteId = (note: Note) => `note-${sha256(note.source ? `source\0${note.source}` : `text\0${note.kind}\0${note.title}\0${note.body}`).slice(0, 12)}`;

/** Adds the note, or updates the one with its id when its content changed. */
export async function upsertNote(db: Pick<Db, 'query'>, note: Note): Promise<{ id: string; outcome: UpsertOutcome }> {
  const id = noteId(note);
  const content = sha256(JSON.stringify(note));
  const { rows } = await db.query<{ inserted: boolean }>(
    `INSERT INTO context_notes (id, kind, repository, customer, paths, tags, links, author, sensitivity, title, body, constraint_text, source, content_sha, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, COALESCE($15::timestamptz, now()))
     ON CONFLICT (id) DO UPDATE SET
       kind = EXCLUDED.kind, repository = EXCLUDED.repository, customer = EXCLUDED.customer, paths = EXCLUDED.paths, tags = EXCLUDED.tags,
       links = EXCLUDED.links, author = EXCLUDED.author, sensitivity = EXCLUDED.sensitivity, title = EXCLUDED.title, body = EXCLUDED.body,
       constraint_text = EXCLUDED.constraint_text, content_sha = EXCLUDED.content_sha,
       created_at = COALESCE($15::timestamptz, context_notes.created_at), updated_at = now()
     WHERE context_notes.content_sha <> EXCLUDED.content_sha
     RETURNING (xmax = 0) AS inserted`,
    [id, note.kind, note.repository ?? null, note.customer ?? null, note.paths, note.tags, note.links, note.author ?? null, note.sensitivity, note.title, note.body, note.constraint ?? null, note.source ?? null, content, note.created ?? null],
  );
  return { id, outcome: rows.length === 0 ? 'unchanged' : rows[0]!.inserted ? 'added' : 'updated' };
}

interface NoteRow {
  id: string;
  kind: NoteKind;
  repository: string | null;
  customer: string | null;
  paths: string[];
  tags: string[];
  links: string[];
  author: string | null;
  sensitivity: Sensitivity;
  title: string;
  body: string;
  constraint_text: string | null;
  source: string | null;
  created_at: Date;
  updated_at: Date;
}

function stored(r: NoteRow): StoredNote {
  return {
    id: r.id,
    kind: r.kind,
    title: r.title,
    body: r.body,
    ...(r.repository ? { repository: r.repository } : {}),
    ...(r.customer ? { customer: r.customer } : {}),
    paths: r.paths,
    tags: r.tags,
    links: r.links,
    ...(r.author ? { author: r.author } : {}),
    sensitivity: r.sensitivity,
    ...(r.constraint_text ? { constraint: r.constraint_text } : {}),
    ...(r.source ? { source: r.source } : {}),
    created: r.created_at.toISOString(),
    updated: r.updated_at.toISOString(),
  };
}

const COLUMNS = 'id, kind, repository, customer, paths, tags, links, author, sensitivity, title, body, constraint_text, source, created_at, updated_at';

/** Newest first; with a repository, its notes and those about no repository in particular. */
export async function listNotes(db: Db, { repository }: { repository?: string } = {}): Promise<StoredNote[]> {
  const { rows } = await db.query<NoteRow>(`SELECT ${COLUMNS} FROM context_notes WHERE $1::text IS NULL OR repository IS NULL OR repository = $1 ORDER BY created_at DESC, id`, [repository ?? null]);
  return rows.map(stored);
}

export async function getNote(db: Db, id: string): Promise<StoredNote | undefined> {
  const { rows } = await db.query<NoteRow>(`SELECT ${COLUMNS} FROM context_notes WHERE id = $1`, [id]);
  return rows[0] && stored(rows[0]);
}

/** The words a task is searched by: its text, and its hinted paths split at separators. */
export const taskWords = (q: ContextQuery) => [q.title, q.description, ...q.criteria, ...q.paths.map((p) => p.replace(/[/._-]+/g, ' '))].join('\n');

/** Candidates looked at, at most: a vault's relevant notes are far fewer than this. */
const CANDIDATES = 200;
/** Withheld notes named in the selection, at most (the most relevant ones). */
const WITHHELD_SHOWN = 20;

interface CandidateRow {
  id: string;
  kind: NoteKind;
  title: string;
  body: string;
  sensitivity: Sensitivity;
  constraint_text: string | null;
  repo_match: boolean;
  path_match: boolean;
  rank: number;
  terms: string[];
}

/**
 * The notes for a task's prompt, deterministically: any of the task's words (an OR of its
 * lexemes, ranked by ts_rank), notes of another repository left out; scope matches first (same
 * repository, a note path holding a hinted one or inside it), then rank, then newest, then id.
 * Whole notes, in that order, while they fit the budget. A note above the tier gives only its
 * constraint; one without a constraint is withheld.
 */
export async function selectNotes(db: Db, query: ContextQuery, { tier, budgetTokens }: { tier: Sensitivity; budgetTokens: number }): Promise<ContextSelection> {
  const { rows } = await db.query<CandidateRow>(
    `WITH q AS (
       SELECT tsvector_to_array(to_tsvector('english', $1)) AS lexemes
     ), tq AS (
       -- The lexemes are already normalised: quoted, the cast keeps them as they are.
       SELECT lexemes, NULLIF(array_to_string(ARRAY(SELECT quote_literal(l) FROM unnest(lexemes) AS l ORDER BY l), ' | '), '')::tsquery AS query FROM q
     ), scored AS (
       SELECT n.id, n.kind, n.title, n.body, n.sensitivity, n.constraint_text, n.created_at,
              COALESCE(n.repository = $2, false) AS repo_match,
              EXISTS (SELECT 1 FROM unnest(n.paths) AS np, unnest($3::text[]) AS hp
                      WHERE hp = np OR starts_with(hp, rtrim(np, '/') || '/') OR starts_with(np, rtrim(hp, '/') || '/')) AS path_match,
              CASE WHEN tq.query IS NULL THEN 0 ELSE ts_rank(n.search, tq.query) END AS rank,
              ARRAY(SELECT l FROM unnest(tsvector_to_array(n.search)) AS l WHERE l = ANY(tq.lexemes) ORDER BY l) AS terms
       FROM context_notes n, tq
       WHERE n.repository IS NULL OR n.repository = $2
     )
     , ranked AS (
       -- Notes the agent can get something of, and those it cannot (withheld), each counted apart:
       -- withheld notes must not crowd the others out of the candidates.
       SELECT *, sensitivity = ANY($4::text[]) OR constraint_text IS NOT NULL AS usable,
              row_number() OVER (PARTITION BY sensitivity = ANY($4::text[]) OR constraint_text IS NOT NULL
                                 ORDER BY (repo_match::int + path_match::int) DESC, rank DESC, created_at DESC, id) AS place
       FROM scored WHERE rank > 0 OR path_match
     )
     SELECT id, kind, title, body, sensitivity, constraint_text, repo_match, path_match, rank, terms FROM ranked
     WHERE place <= CASE WHEN usable THEN ${CANDIDATES} ELSE ${WITHHELD_SHOWN} END
     ORDER BY (repo_match::int + path_match::int) DESC, rank DESC, created_at DESC, id`,
    [taskWords(query), query.repository, query.paths, SENSITIVITIES.slice(0, SENSITIVITIES.indexOf(tier) + 1)],
  );
  const notes: ContextNote[] = [];
  const withheld: string[] = [];
  let used = 0;
  for (const r of rows) {
    const above = aboveTier(r.sensitivity, tier);
    if (above && !r.constraint_text) {
      withheld.push(r.id);
      continue;
    }
    const title = above ? `a ${r.sensitivity} ${r.kind} note` : r.title;
    const text = above ? r.constraint_text! : r.body;
    const tokens = tokensOf(`${title}\n${text}`);
    if (used + tokens > budgetTokens) continue;
    used += tokens;
    const scope = [...(r.repo_match ? (['repository'] as const) : []), ...(r.path_match ? (['paths'] as const) : [])];
    notes.push({ id: r.id, title, kind: r.kind, as: above ? 'constraint' : 'note', why: { scope, rank: Math.round(r.rank * 1e4) / 1e4, terms: r.terms }, tokens, text });
  }
  return { tier, budgetTokens, usedTokens: used, notes, withheld };
}
