// `swarm context …`: the business context vault on the orchestrator's Postgres (DATABASE_URL, or the
// running stack's): add a note (text or a markdown file), import a folder of notes (an Obsidian
// vault as it is), list and show them. Exit 0: done; 1: no such note, or no database; 2: a note or
// an option it cannot use, with what to fix.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../lib/config.ts';
import { NOTE_KINDS, SENSITIVITIES, parseNote, type Note, type NoteInput, type SaveReport, type StoredNote } from '../../workflows/context/notes.ts';
import type { NoteDefaults } from '../../activities/store/context/markdown.ts';
import type { Db } from '../../activities/store/db.ts';
import { InvalidOptionError, repositoryOption } from './tasks.ts';

const print = (text: string): void => void process.stdout.write(`${text}\n`);
/** Repeatable and comma-separated: `--tags a,b --tags c`. */
const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

interface NoteOptions {
  kind?: string;
  repo?: string;
  customer?: string;
  paths?: string[];
  tags?: string[];
  sensitivity?: string;
  author?: string;
  constraint?: string;
  json?: boolean;
}

/** The flags as note fields: only those given, so a file's own fields stay where no flag says otherwise. */
function flagFields(o: NoteOptions & { title?: string }): NoteDefaults & Partial<Pick<NoteInput, 'constraint' | 'title'>> {
  const fields: Record<string, unknown> = { kind: o.kind, repository: o.repo && repositoryOption(o.repo), customer: o.customer, paths: o.paths, tags: o.tags, sensitivity: o.sensitivity, author: o.author, constraint: o.constraint, title: o.title };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

async function withDatabase<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const { resolveEndpoints } = await import('../endpoints.ts');
  const { createPool, ping } = await import('../../activities/store/db.ts');
  const url = resolveEndpoints(config).databaseUrl;
  if (!url) throw new Error('no database: set DATABASE_URL, or start the stack (npm start) so that its Postgres is found');
  await ping(url);
  const db = createPool(url, 1);
  try {
    return await fn(db);
  } catch (err) {
    // 42P01: the table is not there, the schema is older than this CLI.
    if ((err as { code?: string }).code === '42P01') throw new Error('the database has no context notes table yet: start the stack once (npm start) to apply the migrations', { cause: err });
    throw err;
  } finally {
    await db.end();
  }
}

function printSaved(report: SaveReport, json: boolean | undefined): void {
  if (json) return print(JSON.stringify(report, null, 2));
  for (const n of report.notes) print(`${n.outcome.padEnd(9)} ${n.id}  ${n.title}${n.source ? `  (${n.source})` : ''}`);
  const count = (o: string) => report.notes.filter((n) => n.outcome === o).length;
  print(`${report.notes.length} note(s): ${count('added')} added, ${count('updated')} updated, ${count('unchanged')} unchanged`);
}

function formatNote(n: StoredNote): string {
  const scope = [n.repository && `repository ${n.repository}`, n.customer && `customer ${n.customer}`, n.paths.length && `paths ${n.paths.join(', ')}`].filter(Boolean).join('; ');
  return [
    `${n.id}  ${n.title}`,
    `kind ${n.kind}, ${n.sensitivity}${n.author ? `, by ${n.author}` : ''}, created ${n.created}${n.updated !== n.created ? `, updated ${n.updated}` : ''}`,
    ...(scope ? [`scope: ${scope}`] : []),
    ...(n.tags.length ? [`tags: ${n.tags.join(', ')}`] : []),
    ...(n.links.length ? [`links: ${n.links.join(', ')}`] : []),
    ...(n.source ? [`source: ${n.source}`] : []),
    ...(n.constraint ? [`constraint (what agents get instead of the text when it is above their tier): ${n.constraint}`] : []),
    '',
    n.body,
  ].join('\n');
}

export function registerContextCommands(program: Command): void {
  const context = program.command('context').description("the business context vault: notes (customers, meetings, incidents, decisions, failures) the orchestrator selects from for a task's prompt; agents see a note's text only up to the execution tier (SWARM_CONTEXT_TIER), above it only its constraint");
  const noteOptions = (c: Command) =>
    c
      .option('--kind <kind>', `one of ${NOTE_KINDS.join(', ')}`)
      .option('--repo <path|owner/name>', 'the repository the note is about (default: any)')
      .option('--customer <name>', 'the customer the note is about')
      .option('--paths <paths>', 'repository-relative files or folders it is about (comma-separated, repeatable)', list)
      .option('--tags <tags>', 'tags (comma-separated, repeatable)', list)
      .option('--sensitivity <level>', `${SENSITIVITIES.join(' < ')} (default: the note's own, else confidential)`)
      .option('--author <name>')
      .option('--json', 'print what was saved as JSON');

  noteOptions(
    context
      .command('add [file]')
      .description('add a note from a markdown file (frontmatter optional; flags override it) or from --text; adding the same file or text again updates its note. Exit 0: saved; 2: a note it cannot save (what to fix is said)')
      .option('--text <text>', 'the note itself (markdown), instead of a file')
      .option('--title <title>', "the note's title (default: its first heading, else its file name or first line)")
      .option('--constraint <rule>', 'for a note above the execution tier: the PII-free rule agents may get instead of its text'),
  ).action(async (file: string | undefined, o: NoteOptions & { text?: string; title?: string }) => {
    if (!file === !o.text) throw new InvalidOptionError('give either a markdown file or --text "<the note>", not both or neither');
    const { parseMarkdownNote } = await import('../../activities/store/context/markdown.ts');
    const flags = flagFields(o);
    const path = file && resolve(file);
    if (path && !statSync(path, { throwIfNoEntry: false })?.isFile()) throw new InvalidOptionError(`${file}: no such file; give the markdown note's path`);
    const text = path ? readFileSync(path, 'utf8') : o.text!;
    const read = parseMarkdownNote(text, { ...(path ? { path } : {}), where: file ?? '--text', defaults: flags });
    const note: Note = parseNote({ ...read, ...flags }, file ?? '--text');
    const config = loadConfig();
    const { saveNotes } = await import('../../activities/store/context/import.ts');
    printSaved(await withDatabase(config, (db) => saveNotes(db, [note])), o.json);
  });

  noteOptions(
    context
      .command('import <folder>')
      .description('import every markdown note below a folder (an Obsidian vault as it is: .obsidian/ and other hidden folders skipped, [[wikilinks]] and #tags read); the flags are for notes that do not say. Importing again updates what changed. Exit 0: imported; 2: a note it cannot save (nothing is imported; every problem is listed)'),
  ).action(async (folder: string, o: NoteOptions) => {
    const { readVault, saveNotes } = await import('../../activities/store/context/import.ts');
    const notes = readVault(folder, flagFields(o));
    const config = loadConfig();
    printSaved(await withDatabase(config, (db) => saveNotes(db, notes)), o.json);
  });

  context
    .command('list')
    .description('the notes, newest first')
    .option('--repo <path|owner/name>', "only this repository's notes and those about no repository in particular")
    .option('--json', 'print the notes as JSON')
    .action(async (o: { repo?: string; json?: boolean }) => {
      const { listNotes } = await import('../../activities/store/context/store.ts');
      const notes = await withDatabase(loadConfig(), (db) => listNotes(db, o.repo ? { repository: repositoryOption(o.repo) } : {}));
      if (o.json) return print(JSON.stringify(notes, null, 2));
      if (notes.length === 0) return print('no notes yet (add one: swarmflow context add --help)');
      for (const n of notes) print(`${n.id}  ${n.kind.padEnd(8)} ${n.sensitivity.padEnd(12)} ${n.created.slice(0, 10)}  ${n.title}${n.repository ? `  [${n.repository}]` : ''}`);
    });

  context
    .command('show <id>')
    .description('one note, whole. Exit 1: no such note')
    .option('--json', 'print the note as JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { getNote } = await import('../../activities/store/context/store.ts');
      const note = await withDatabase(loadConfig(), (db) => getNote(db, id));
      if (!note) {
        process.stderr.write(`swarmflow: no note ${id} (the ids are in: swarmflow context list)\n`);
        process.exitCode = 1;
        return;
      }
      print(o.json ? JSON.stringify(note, null, 2) : formatNote(note));
    });
}
