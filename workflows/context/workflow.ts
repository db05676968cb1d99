// The vault's workflows, for the typed client, which holds no database connection: each runs one
// orchestration activity. Adding notes is idempotent (a note's id is its source or its text), so a
// repeated call changes nothing. The notes added travel in this workflow's history, on the
// orchestrator's tier like Postgres itself; listings carry no note bodies.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { NoteInput, NoteSummary, SaveReport } from './notes.ts';

const vault = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '20 seconds', retry: { maximumInterval: '10 seconds', maximumAttempts: 5 } });

export async function vaultAdd(notes: NoteInput[]): Promise<SaveReport> {
  return vault.addContextNotes(notes);
}

export async function vaultList(filter: { repository?: string }): Promise<NoteSummary[]> {
  return vault.listContextNotes(filter);
}
