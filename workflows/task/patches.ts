// Every change to the task workflow's logic made after a release shipped, by its patch id. A
// history recorded before a patch replays down the old path; new runs take the new one. The ids
// are in recorded histories: never rename one.

/** Rate limits and provider faults wait and respawn instead of failing the attempt (added after 0.1 shipped). */
export const AGENT_FAULTS_PATCH = 'agent-faults-respawn';
/** Spawns wait for room on the host (agent cap, memory headroom) on a durable timer (added after 0.1 shipped). */
export const SPAWN_CAPACITY_PATCH = 'spawn-capacity-hold';
/** A handoff route runs its concept agent before the first attempt (added after 0.1 shipped). */
export const CONCEPT_HANDOFF_PATCH = 'concept-handoff';
/** An agent that cannot start on its host (no key, no binary) waits for a human instead of failing the task. */
export const AGENT_MISCONFIGURED_PATCH = 'agent-misconfigured-escalates';
/** A retry sent while the escalation's notification is in flight is kept (it was lost before). */
export const ESCALATE_RETRY_PATCH = 'escalate-keeps-early-retry';
/** A rate-limited or faulted concept run waits and resumes, like any run (its implementer used to start without it). */
export const CONCEPT_FAULTS_PATCH = 'concept-faults-respawn';
/** A host that does not pick up a step goes to a human, who retries once it is back (the task used to wait on its queue forever). */
export const HOST_UNANSWERED_PATCH = 'host-unanswered-escalates';
/** A stop (abort, reject) cancels the verification in flight: reviewers and CI are killed, not waited out. */
export const STOP_CANCELS_PATCH = 'stop-cancels-verification';
/** Once the merge has begun, a reject or an abort is refused instead of being reported and then ignored. */
export const MERGE_REFUSES_PATCH = 'merge-refuses-late-decisions';
/** A redirect whose text cannot be typed is refused, not sent (the activity's refusal failed the task); one sent before any run goes into its prompt. */
export const REDIRECT_TRUTH_PATCH = 'redirect-delivery-truth';
/** An operator's text the task cannot carry (a NUL, 60 kB) is refused with the reason instead of being taken in. */
export const OPERATOR_TEXT_PATCH = 'operator-text-refused';
/** The gate never asks with an unmet DoD, looks again at the monitor interval, and a refused merge goes back to verification or a human (it failed the task). */
export const GATE_WATCH_PATCH = 'gate-watches-dod';
/** The search attributes are set as soon as intake knows the server has them (a task that failed at intake had none). */
export const INTAKE_ATTRIBUTES_PATCH = 'intake-search-attributes';
/** A task's records are kept under its run key, so an id started again after a failed run keeps both runs apart. */
export const RUN_KEY_PATCH = 'run-keyed-records';
/** A merge that could not update a checked-out base goes to a human, who clears the way and says retry (it failed the task). */
export const BASE_IN_THE_WAY_PATCH = 'base-in-the-way-asks-a-human';
/** The task's registry entry is kept in its memo, so listings read visibility instead of querying every task. */
export const REGISTRY_MEMO_PATCH = 'registry-memo';
/** A rejected or aborted task closes as a failed workflow (it closed as completed, like a merge), so the Web UI's list tells them apart. */
export const CLOSE_STATUS_PATCH = 'close-status-tells-outcome';
/** `decide` answers once the decision took effect (merged, or sent back), not with the state before the merge. */
export const DECIDE_ANSWERS_PATCH = 'decide-answers-after-effect';
/**
 * The evidence plane: the policy gate before the push, CI before the reviewers (who read its
 * results, the criteria and the diff in a clean checkout of the head), the orchestrator's own
 * screenshots for the UI gate.
 */
export const OBJECTIVE_EVIDENCE_PATCH = 'objective-evidence';
/**
 * Decisions are proven: signed by the approver's key (or relayed from Telegram by the orchestrator's),
 * or an APPROVED GitHub review by an approver's login, bound to the task and the PR head; a refusal
 * is recorded in the task's history (an update handler's failure), not only answered.
 */
export const SIGNED_DECISIONS_PATCH = 'signed-decisions';
/**
 * Every artifact is a signed in-toto statement chained to the one before (the state keeps the
 * chain's seq and head digest), and each agent run's end is a receipt of its own.
 */
export const SIGNED_EVIDENCE_PATCH = 'signed-evidence';
/**
 * Step 2 selects the business context vault's notes for each attempt's prompt (and the handoff's
 * concept prompt): a "## Business context" section, and the constraints of notes above the
 * execution tier in "## Constraints". The state keeps which notes and why, never their text.
 */
export const CONTEXT_VAULT_PATCH = 'context-vault';
/** A task that came from a GitHub issue says `Closes #N` in its PR body, so the merge closes the issue. */
export const ISSUE_INTAKE_PATCH = 'issue-intake';
/**
 * Failures are classified from real evidence (CI logs, the agent's transcript, the diff against
 * the scope, the base's conflicting commits) by a host activity; the next attempt gets the class's
 * injection (resumed into the failed attempt's CLI session where it can be), each retry is
 * remembered in Postgres with its outcome, and a CI machine's fault reruns CI without spending an attempt.
 */
export const EVIDENCE_PLAYBOOK_PATCH = 'evidence-playbook';
/** A task's token and dollar budget (limits.maxTokens, maxUsd) is checked at each run's exit: a breach escalates, spending no attempt. */
export const TASK_BUDGET_PATCH = 'task-budget';
/**
 * A stuck agent (the same tool call or failing command repeated, or nothing moving for minutes) is
 * corrected when the host's stuck watch sees it, not at the next monitor tick: a specific message
 * into its session (a headless turn is interrupted for it), at most twice a run, each recorded.
 */
export const STUCK_INTERVENTION_PATCH = 'stuck-intervention';

/**
 * The gate counts forge events from its entry, not from each wait: one that came while it asked
 * for approval (the notify activity) or looked at the PR used to wait for the next tick unseen.
 */
export const GATE_EARLY_EVENTS_PATCH = 'gate-early-events';

/**
 * Step 5 is one host activity (syncPr: push, open or read the PR, merge the base in, read it back
 * with its mergeability) where it was five, each a workflow task and six history events (issue #15).
 */
export const PR_IN_ONE_CALL_PATCH = 'pr-in-one-call';

/**
 * The issue intake (workflows/intake/workflow.ts, not the task workflow) starts its task with the
 * task's priority: its level's priority key and its repository as the fairness key, as the
 * client's startTask does. Before, the task inherited the intake's priority (none).
 */
export const INTAKE_PRIORITY_PATCH = 'intake-task-priority';

/**
 * A host that stopped answering is looked up in the host registry: a gone or stopped host is
 * named in the blocker, with its last heartbeat and where the task's work is (its worktree only
 * there, or its branch on GitHub).
 */
export const HOST_GONE_PATCH = 'host-gone-says-so';
