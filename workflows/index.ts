// Every workflow the workers register. Deterministic code only: this file is bundled into
// Temporal's sandbox.
export { doctorRoundTrip } from './doctor.ts';
export { issueIntake } from './intake/workflow.ts';
export { reaper } from './reaper/workflow.ts';
export { task } from './task/workflow.ts';
export { vaultAdd, vaultList } from './context/workflow.ts';
