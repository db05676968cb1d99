// Step 2's business context: the vault's notes for this attempt's prompt, selected once per attempt
// (a retry's prompt is synthesized anew, and notes added since, such as the last failure's, count).
// The texts stay in the workflow's memory for the prompt; the state records which notes and why.
import { patched } from '@temporalio/workflow';
import type { TaskContext } from '../context.ts';
import { CONTEXT_VAULT_PATCH } from '../patches.ts';

/** Selects the attempt's notes unless this run already has them (behind CONTEXT_VAULT_PATCH). */
export async function selectContext(ctx: TaskContext): Promise<void> {
  if (!patched(CONTEXT_VAULT_PATCH)) return;
  const { state, spec } = ctx;
  if (ctx.businessContext?.attempt === state.attempt) return;
  ctx.enter('prompt');
  const selection = await ctx.orchestration.selectContext({
    taskId: spec.id,
    repository: spec.repository,
    title: spec.title,
    description: spec.description,
    criteria: spec.acceptanceCriteria,
    paths: spec.hints.files,
    agent: state.setup!.agent.name,
  });
  ctx.businessContext = { attempt: state.attempt, notes: selection.notes };
  state.context = { ...selection, attempt: state.attempt, notes: selection.notes.map(({ text: _text, ...shown }) => shown) };
  if (selection.notes.length === 0 && selection.withheld.length === 0) return;
  const constraints = selection.notes.filter((n) => n.as === 'constraint').length;
  ctx.note(`business context for attempt ${state.attempt}: ${selection.notes.length} note(s) (${constraints} as constraints only), ${selection.usedTokens}/${selection.budgetTokens} tokens${selection.withheld.length ? `; ${selection.withheld.length} withheld (above the ${selection.tier} tier, no constraint)` : ''}`);
}
