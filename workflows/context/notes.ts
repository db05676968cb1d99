// The business context vault's note: what the orchestrator knows beyond the code (customers,
// meetings, incidents, decisions, past failures). Shared by the client, the CLI, the store and the
// workflows: validated once here, at every edge. Notes above the execution tier's sensitivity never
// reach an agent; only their distilled `constraint` may.
import { z } from 'zod';
import { FreeText, RepoRelativePath, RepositoryRef } from '../task/spec.ts';

export const NOTE_KINDS = ['customer', 'meeting', 'incident', 'decision', 'failure'] as const;
export type NoteKind = (typeof NOTE_KINDS)[number];

/** Lowest first: the execution tier sees notes up to its configured level. */
export const SENSITIVITIES = ['internal', 'confidential', 'restricted'] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];

/** A note that does not say how sensitive it is is not shown to agents: only `internal` text is. */
export const DEFAULT_SENSITIVITY: Sensitivity = 'confidential';

export const aboveTier = (note: Sensitivity, tier: Sensitivity) => SENSITIVITIES.indexOf(note) > SENSITIVITIES.indexOf(tier);

const Label = z.string().trim().min(1).max(100).regex(/^[^\s,#[\]]+$/, 'a word without spaces, commas, "#" or brackets (e.g. "billing")');

export const NoteInputSchema = z.object({
  kind: z.enum(NOTE_KINDS, `one of ${NOTE_KINDS.join(', ')}: pass --kind, or give the note a \`kind:\` frontmatter line or a #<kind> tag`),
  title: FreeText(200).refine((t) => !/[\n\r]/.test(t), 'one line'),
  body: FreeText(50_000),
  /** The repository the note is about (as a task names it); absent: any repository. */
  repository: RepositoryRef.optional(),
  customer: z.string().trim().min(1).max(200).optional(),
  /** Repository-relative files or folders the note is about; a hinted path inside one is a scope match. */
  paths: z.array(RepoRelativePath).max(100).default([]),
  tags: z.array(Label).max(50).default([]),
  /** Notes this one links to (`[[wikilinks]]`). */
  links: z.array(z.string().trim().min(1).max(300)).max(200).default([]),
  author: z.string().trim().min(1).max(100).optional(),
  sensitivity: z.enum(SENSITIVITIES, `one of ${SENSITIVITIES.join(' < ')}`).default(DEFAULT_SENSITIVITY),
  /** For a note above the execution tier: the PII-free rule the orchestrator may pass on instead of its text. */
  constraint: FreeText(2_000).optional(),
  /** Where it was imported from (a vault-relative path): re-importing it updates this note. */
  source: z.string().min(1).max(1_000).optional(),
  /** When it was written (ISO 8601); the time it was added when absent. */
  created: z.iso.datetime({ offset: true }).optional(),
});

export type NoteInput = z.input<typeof NoteInputSchema>;
export type Note = z.infer<typeof NoteInputSchema>;

export interface StoredNote extends Note {
  id: string;
  created: string;
  updated: string;
}

/** A note refused with every reason, each naming its field. */
export class InvalidNoteError extends Error {
  constructor(
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`invalid note ${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidNoteError';
  }
}

export function parseNote(input: unknown, where = '(input)'): Note {
  const parsed = NoteInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new InvalidNoteError(where, parsed.error.issues.map((i) => `${i.path.join('.') || '(note)'}: ${i.message}`));
}

/** What a write did to each note: the same source or the same text is the same note. */
export type UpsertOutcome = 'added' | 'updated' | 'unchanged';
export interface SaveReport {
  notes: Array<{ id: string; title: string; source?: string; outcome: UpsertOutcome }>;
}

/** A note as a listing shows it: no body, so a listing through the client never carries one. */
export type NoteSummary = Omit<StoredNote, 'body' | 'constraint'> & { hasConstraint: boolean };

export const summaryOf = ({ body: _body, constraint, ...rest }: StoredNote): NoteSummary => ({ ...rest, hasConstraint: !!constraint });

/** What a task asks the vault for: its words and scope, and how many tokens its agent's prompt may spend on context. */
export interface ContextQuery {
  taskId: string;
  repository: string;
  title: string;
  description: string;
  criteria: string[];
  paths: string[];
  /** The agent whose budget applies (its `contextTokens`, else the configured default). */
  agent: string;
}

/** Why a note was chosen: its scope matches, its full-text rank, the task's terms it holds. */
export interface SelectionReason {
  scope: Array<'repository' | 'paths'>;
  rank: number;
  terms: string[];
}

/** A chosen note as the prompt gets it: `text` is its body, or only its constraint for a note above the tier. */
export interface ContextNote {
  id: string;
  /** The note's title; for a note above the tier, a label naming only its kind (a title can carry a name). */
  title: string;
  kind: NoteKind;
  as: 'note' | 'constraint';
  why: SelectionReason;
  tokens: number;
  text: string;
}

export interface ContextSelection {
  tier: Sensitivity;
  budgetTokens: number;
  usedTokens: number;
  notes: ContextNote[];
  /** Notes that matched but are above the tier with no constraint: never passed on, named by id. */
  withheld: string[];
}

/** What the task's state keeps of a selection: no note text (the state is visible in queries and history). */
export type ContextRecord = Omit<ContextSelection, 'notes'> & { attempt: number; notes: Array<Omit<ContextNote, 'text'>> };

/** Tokens as prompts are budgeted: about four characters each. */
export const tokensOf = (text: string) => Math.ceil(text.length / 4);
