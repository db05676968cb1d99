// The vault's orchestration activities: the selection for a task's prompt, and adding, listing and
// showing notes for the client (which holds no database connection of its own).
import type { Config } from '../../../lib/config.ts';
import { NoteInputSchema, summaryOf, type ContextQuery, type ContextSelection, type NoteInput, type NoteSummary, type SaveReport } from '../../../workflows/context/notes.ts';
import { parseInput } from '../../errors.ts';
import type { Db } from '../db.ts';
import { saveNotes } from './import.ts';
import { listNotes, selectNotes } from './store.ts';

export function createContextActivities({ db, config }: { db: Db; config: Config }) {
  return {
    /** The notes for the prompt of a task's agent, within its budget; only what the execution tier may see. */
    selectContext: (query: ContextQuery): Promise<ContextSelection> =>
      selectNotes(db, query, { tier: config.context.executionTier, budgetTokens: config.agents[query.agent]?.contextTokens ?? config.context.tokens }),
    addContextNotes: (notes: NoteInput[]): Promise<SaveReport> => saveNotes(db, parseInput(NoteInputSchema.array().min(1).max(1_000), notes, 'addContextNotes')),
    /** Summaries only: what a workflow's activity returns is kept in its history. */
    listContextNotes: async (filter: { repository?: string }): Promise<NoteSummary[]> => (await listNotes(db, filter)).map(summaryOf),
  };
}
