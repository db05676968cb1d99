// Step 1: which agent runs a task. The spec may name one; otherwise the routing table (the
// runbook's by default, overridable in the configuration) picks by task shape.
import type { TaskShape, TaskSpec } from '../task/spec.ts';

/** Task shape -> agent name: the shape of the configuration's `routing` section. */
export type RoutingTable = Readonly<Record<TaskShape, string>>;

export interface Route {
  agent: string;
  reason: string;
}

/** The runbook's routing table: who it recommends per shape, and why. */
const RUNBOOK: Record<TaskShape, { agent: string; why: string }> = {
  backend: { agent: 'codex', why: 'stronger cross-file reasoning and lower false-positive review rate' },
  refactor: { agent: 'codex', why: 'stronger cross-file reasoning and lower false-positive review rate' },
  bug: { agent: 'codex', why: 'stronger cross-file reasoning and lower false-positive review rate' },
  ui: { agent: 'claude', why: 'faster turnaround and practical terminal workflow' },
  git: { agent: 'claude', why: 'faster turnaround and practical terminal workflow' },
  spec: { agent: 'gemini', why: 'better design ideation with deterministic implementation handoff' },
};

/** Picks the agent; throws when it is not configured, naming the ones that are. */
export function routeAgent(spec: Pick<TaskSpec, 'shape' | 'agent'>, routing: RoutingTable, knownAgents: string[]): Route {
  const route = spec.agent ? { agent: spec.agent, reason: `"${spec.agent}" was requested by the spec` } : byShape(spec.shape, routing);
  if (!knownAgents.includes(route.agent)) {
    const configured = knownAgents.length > 0 ? knownAgents.map((a) => `"${a}"`).join(', ') : 'none';
    throw new Error(`agent "${route.agent}" (${route.reason}) is not configured; configured agents: ${configured}`);
  }
  return route;
}

function byShape(shape: TaskShape, routing: RoutingTable): Route {
  const agent = routing[shape];
  const runbook = RUNBOOK[shape];
  // The runbook's reason only explains its own choice, not an operator's override.
  const why = agent === runbook.agent ? runbook.why : `configured override of the runbook default "${runbook.agent}"`;
  return { agent, reason: `the routing table sends ${shape} tasks to "${agent}": ${why}` };
}
