// The vault's markdown notes: YAML frontmatter optional, Obsidian's #tags and [[wikilinks]] read,
// a vault folder as it is (hidden folders skipped), and bad notes refused with what to fix.
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseMarkdownNote, readObsidian } from '../../activities/store/context/markdown.ts';
import { readVault } from '../../activities/store/context/import.ts';
import { InvalidNoteError } from '../../workflows/context/notes.ts';
import { tempDir } from '../harness/paths.ts';

function vault(files: Record<string, string>): string {
  const root = join(tempDir('vault'), 'acme-vault');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidNoteError) return err.problems;
    throw err;
  }
  throw new Error('expected an InvalidNoteError');
};

describe('markdown notes', () => {
  it('reads every frontmatter field, and the body after it', () => {
    const note = parseMarkdownNote(
      [
        '---',
        'kind: incident',
        'title: Invoices double-charged on retry',
        'repository: acme/billing',
        'customer: Globex',
        'paths: [src/billing/, src/api/charge.ts]',
        'tags:',
        '  - billing',
        '  - "#payments"',
        'author: dana',
        'sensitivity: restricted',
        'constraint: Charging must be idempotent per invoice id.',
        'created: 2026-02-27',
        '---',
        'Globex was charged twice on 2026-02-26.',
        '',
      ].join('\n'),
      { path: 'vault/incidents/double-charge.md' },
    );
    expect(note).toEqual({
      kind: 'incident',
      title: 'Invoices double-charged on retry',
      body: 'Globex was charged twice on 2026-02-26.',
      repository: 'acme/billing',
      customer: 'Globex',
      paths: ['src/billing/', 'src/api/charge.ts'],
      tags: ['billing', 'payments'],
      links: [],
      author: 'dana',
      sensitivity: 'restricted',
      constraint: 'Charging must be idempotent per invoice id.',
      source: 'vault/incidents/double-charge.md',
      created: '2026-02-27T00:00:00.000Z',
    });
  });

  it('without frontmatter: the first heading is the title, #tags and [[wikilinks]] are read, the kind comes from a tag or the folder', () => {
    const text = '# Weekly sync with Initech\n\nThey want CSV export by March. See [[Initech account|the account note]] and [[Export design#Formats]].\n\n#export #meeting-notes #2026 `#not-a-tag`\n\n```\n#also-not\n```\n';
    const note = parseMarkdownNote(text, { path: 'vault/meetings/2026-03-01.md' });
    expect(note.title).toBe('Weekly sync with Initech');
    expect(note.kind).toBe('meeting');
    expect(note.tags).toEqual(['export', 'meeting-notes']);
    expect(note.links).toEqual(['Initech account', 'Export design']);
    expect(note.body).toContain('See the account note and Export design.');
    expect(note.body).not.toContain('# Weekly sync');
    // Unlabelled notes are not shown to agents.
    expect(note.sensitivity).toBe('confidential');
    expect(parseMarkdownNote('Postgres 15 is the floor.\n\n#decision #internal', {}).kind).toBe('decision');
    expect(parseMarkdownNote('Postgres 15 is the floor.\n\n#decision #internal', {})).toMatchObject({ title: 'Postgres 15 is the floor.', sensitivity: 'internal' });
  });

  it('takes the defaults the caller gives only where the note says nothing', () => {
    const note = parseMarkdownNote('---\nsensitivity: internal\n---\nUse the v2 API.\n', { path: 'v/api.md', defaults: { kind: 'decision', sensitivity: 'restricted', tags: ['api'] } });
    expect(note).toMatchObject({ kind: 'decision', sensitivity: 'internal', title: 'api', tags: ['api'] });
  });

  it('refuses a note it cannot store, naming each field and how to fix it', () => {
    expect(problemsOf(() => parseMarkdownNote('Just some text.', { path: 'v/loose.md' }))).toEqual([expect.stringMatching(/^kind: one of customer, meeting, incident, decision, failure: pass --kind, or give the note a `kind:` frontmatter line or a #<kind> tag$/)]);
    expect(problemsOf(() => parseMarkdownNote('---\nkind: [oops\n---\nx', { path: 'v/bad.md' }))[0]).toMatch(/^frontmatter: not valid YAML .*; fix it or remove the --- block$/);
    const many = problemsOf(() => parseMarkdownNote('---\nkind: rumour\nsensitivity: secret\npaths: [/etc/passwd]\ncreated: last tuesday\n---\nx', { path: 'v/bad.md' }));
    expect(many).toEqual([
      expect.stringMatching(/^kind: one of/),
      expect.stringMatching(/^paths\.0: relative to the repository/),
      expect.stringMatching(/^sensitivity: one of internal < confidential < restricted/),
      expect.stringMatching(/^created: /),
    ]);
  });

  it('keeps wikilinks readable in the body and leaves code alone', () => {
    expect(readObsidian('a [[B]] c [[D|e]] `[[F]]`')).toEqual({ body: 'a B c e `F`', tags: [], links: ['B', 'D'] });
  });
});

describe('an Obsidian vault folder', () => {
  it('imports every markdown note as it is, skipping .obsidian/ and other hidden folders, each named by its path', () => {
    const root = vault({
      '.obsidian/workspace.md': '# not a note',
      '.trash/old.md': '# deleted',
      'Customers/Globex.md': '---\nsensitivity: restricted\nconstraint: Never log card numbers.\n---\n# Globex\nContact: jane@globex.example\n',
      'decisions/queue.md': '# Use Temporal for retries\n\n#internal',
      'attachments/diagram.png': 'png',
    });
    const notes = readVault(root);
    expect(notes.map((n) => [n.source, n.kind, n.sensitivity, n.title])).toEqual([
      ['acme-vault/Customers/Globex.md', 'customer', 'restricted', 'Globex'],
      ['acme-vault/decisions/queue.md', 'decision', 'internal', 'Use Temporal for retries'],
    ]);
  });

  it('refuses the whole folder when a note is bad, listing every file to fix', () => {
    const root = vault({ 'a.md': 'no kind here', 'meetings/b.md': '---\nsensitivity: top\n---\nx', 'decisions/ok.md': '# fine' });
    const problems = problemsOf(() => readVault(root));
    expect(problems).toEqual([expect.stringMatching(/^a\.md: kind: one of/), expect.stringMatching(/^meetings\/b\.md: sensitivity: one of/)]);
    expect(problemsOf(() => readVault(join(root, 'nope')))).toEqual([expect.stringContaining('not a folder')]);
  });
});
