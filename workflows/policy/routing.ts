// Step 1: which agent runs a task. The spec may name one; otherwise the routing table (the
// runbook's by default, overridable in the configuration) picks by task shape. A shape may route
// to a handoff: one agent writes a concept, another implements it (the runbook's UI spec route).
import type { TaskShape, TaskSpec } from '../task/spec.ts';

/** One agent, or a concept agent handing over to an implementing one. */
export type RouteEntry = string | { concept: string; implement: string };

/** Task shape -> route: the shape of the configuration's `routing` section. */
export type RoutingTable = Readonly<Record<TaskShape, RouteEntry>>;

export interface Route {
  /** The agent that implements (and is retried). */
  agent: string;
  /** The agent that writes the concept first, when the route is a handoff. */
  concept?: string;
  reason: string;
}

/** The runbook's routing table: who it recommends per shape, and why. */
const RUNBOOK: Record<TaskShape, { route: RouteEntry; why: string }> = {
  backend: { route: 'codex', why: 'stronger cross-file reasoning and lower false-positive review rate' },
  refactor: { route: 'codex', why: 'stronger cross-file reasoning and lower false-positive review rate' },
  bug: { route: 'codex', why: 'stronger cross-file reasoning and lower false-positive review rate' },
  ui: { route: 'claude', why: 'faster turnaround and practical terminal workflow' },
  git: { route: 'claude', why: 'faster turnaround and practical terminal workflow' },
  spec: { route: { concept: 'gemini', implement: 'claude' }, why: 'better design ideation with deterministic implementation handoff' },
};

const describe = (r: RouteEntry) => (typeof r === 'string' ? `"${r}"` : `"${r.concept}" for the concept, then "${r.implement}" to implement it`);
const sameRoute = (a: RouteEntry, b: RouteEntry) => describe(a) === describe(b);

/** Picks the agent(s); throws when one is not configured, naming the ones that are. */
export function routeAgent(spec: Pick<TaskSpec, 'shape' | 'agent'>, routing: RoutingTable, knownAgents: string[]): Route {
  const route = spec.agent ? { agent: spec.agent, reason: `"${spec.agent}" was requested by the spec` } : byShape(spec.shape, routing);
  // The concept agent first: it is the first to run.
  for (const name of [...('concept' in route && route.concept ? [route.concept] : []), route.agent]) {
    if (!knownAgents.includes(name)) {
      const configured = knownAgents.length > 0 ? knownAgents.map((a) => `"${a}"`).join(', ') : 'none';
      throw new Error(`agent "${name}" (${route.reason}) is not configured; configured agents: ${configured}`);
    }
  }
  return route;
}

function byShape(shape: TaskShape, routing: RoutingTable): Route {
  const entry = routing[shape];
  const runbook = RUNBOOK[shape];
  // The runbook's reason only explains its own choice, not an operator's override.
  const why = sameRoute(entry, runbook.route) ? runbook.why : `configured override of the runbook default ${describe(runbook.route)}`;
  const reason = `the routing table sends ${shape} tasks to ${describe(entry)}: ${why}`;
  return typeof entry === 'string' ? { agent: entry, reason } : { agent: entry.implement, concept: entry.concept, reason };
}
