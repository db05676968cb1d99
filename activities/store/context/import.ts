// Importing a folder of markdown notes (an Obsidian vault as it is): every `.md` below it, hidden
// folders (`.obsidian/`, `.trash/`, `.git/`) left out. All notes are read first: one bad note
// refuses the import with every problem named, and nothing is written. The writes are one
// transaction; a note's source is `<folder name>/<path in the folder>`, so importing again
// updates what changed and adds nothing twice.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Db } from '../db.ts';
import { InvalidNoteError, type Note, type SaveReport } from '../../../workflows/context/notes.ts';
import { parseMarkdownNote, type NoteDefaults } from './markdown.ts';
import { upsertNote } from './store.ts';

/** The markdown files below `folder`, sorted, hidden folders and files left out. */
function markdownFiles(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.md')) found.push(path);
    }
  };
  walk(folder);
  return found;
}

/** The folder's notes, each named by its source; throws InvalidNoteError listing every file's problems. */
export function readVault(folder: string, defaults: NoteDefaults = {}): Note[] {
  const root = resolve(folder);
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidNoteError(folder, ['not a folder: give the folder that holds the markdown notes (an Obsidian vault works as it is)']);
  const notes: Note[] = [];
  const problems: string[] = [];
  for (const file of markdownFiles(root)) {
    const path = relative(root, file).split(sep).join('/');
    try {
      notes.push(parseMarkdownNote(readFileSync(file, 'utf8'), { path: `${basename(root)}/${path}`, where: file, defaults }));
    } catch (err) {
      if (!(err instanceof InvalidNoteError)) throw err;
      problems.push(...err.problems.map((p) => `${path}: ${p}`));
    }
  }
  if (problems.length > 0) throw new InvalidNoteError(`folder ${folder} (nothing was imported)`, problems);
  return notes;
}

/** Writes the notes in one transaction: all or none. */
export async function saveNotes(db: Db, notes: Note[]): Promise<SaveReport> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const report: SaveReport = { notes: [] };
    for (const note of notes) report.notes.push({ ...(await upsertNote(client, note)), title: note.title, ...(note.source ? { source: note.source } : {}) });
    await client.query('COMMIT');
    return report;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
