// The entry of @swarmflow/client (packages/client): the typed client, and what a caller uses with
// it — the TaskSpec schema, the task's messages, its state and registry types, the configuration.
export { InvalidMessageError, SwarmClient, TaskEndedError, TaskIdTakenError, TemporalUnreachableError, specDifference, startableSpec } from './swarm-client.ts';
export type { ConnectOptions, RegistryPage, StartedTask } from './swarm-client.ts';
export { ConfigError, loadConfig, type Config } from '../lib/config.ts';
export { InvalidTaskSpecError, TASK_SHAPES, TaskSpecSchema, parseTaskSpec, taskWorkflowId, type TaskShape, type TaskSpec, type TaskSpecInput } from '../workflows/task/spec.ts';
export * from '../workflows/task/messages.ts';
export type { TaskState } from '../workflows/task/state.ts';
export type { ActiveTaskEntry, FinishedTaskEntry, RegistryEntry } from '../workflows/task/registry.ts';
export type { IssueIntakeInput, IssueIntakeResult } from '../workflows/intake/types.ts';
export { STEPS, TERMINAL_STATUSES, type Step, type TaskStatus } from '../workflows/task/types.ts';
export { InvalidNoteError, NOTE_KINDS, NoteInputSchema, SENSITIVITIES, parseNote, type NoteInput, type NoteKind, type NoteSummary, type SaveReport, type Sensitivity } from '../workflows/context/notes.ts';
