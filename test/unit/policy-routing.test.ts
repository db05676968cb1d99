import { describe, expect, it } from '@jest/globals';
import { ConfigSchema } from '../../lib/config.ts';
import { routeAgent } from '../../workflows/policy/routing.ts';

const defaults = ConfigSchema.parse({}).routing;
const agents = ['codex', 'claude', 'gemini'];

describe('routeAgent', () => {
  it('uses the agent the spec requests, whatever the shape', () => {
    const route = routeAgent({ shape: 'ui', agent: 'codex' }, defaults, agents);
    expect(route.agent).toBe('codex');
    expect(route.reason).toContain('requested by the spec');
  });

  it("routes by shape with the runbook's table and reasons by default", () => {
    expect(routeAgent({ shape: 'backend' }, defaults, agents)).toEqual({ agent: 'codex', reason: expect.stringContaining('stronger cross-file reasoning') });
    expect(routeAgent({ shape: 'refactor' }, defaults, agents).agent).toBe('codex');
    expect(routeAgent({ shape: 'bug' }, defaults, agents).agent).toBe('codex');
    expect(routeAgent({ shape: 'ui' }, defaults, agents)).toEqual({ agent: 'claude', reason: expect.stringContaining('faster turnaround') });
    expect(routeAgent({ shape: 'git' }, defaults, agents).agent).toBe('claude');
    expect(routeAgent({ shape: 'spec' }, defaults, agents)).toEqual({ agent: 'claude', concept: 'gemini', reason: expect.stringContaining('design ideation') });
  });

  it('hands a spec over: the concept agent first, the implementer after, both required to be configured', () => {
    const route = routeAgent({ shape: 'spec' }, defaults, agents);
    expect(route.reason).toContain('"gemini" for the concept, then "claude" to implement it');
    expect(() => routeAgent({ shape: 'spec' }, defaults, ['claude'])).toThrow('agent "gemini"');
    // A handoff configured for another shape is an override, and says so.
    const custom = routeAgent({ shape: 'ui' }, { ...defaults, ui: { concept: 'claude', implement: 'codex' } }, agents);
    expect(custom).toMatchObject({ agent: 'codex', concept: 'claude' });
    expect(custom.reason).toContain('override');
    // A spec that names an agent skips the handoff.
    expect(routeAgent({ shape: 'spec', agent: 'codex' }, defaults, agents)).toEqual({ agent: 'codex', reason: expect.stringContaining('requested by the spec') });
  });

  it("follows a configured override without claiming the runbook's reason for it", () => {
    const route = routeAgent({ shape: 'ui' }, { ...defaults, ui: 'codex' }, agents);
    expect(route.agent).toBe('codex');
    expect(route.reason).toContain('override');
    expect(route.reason).not.toContain('faster turnaround');
  });

  it('refuses an agent that is not configured, naming it and the configured ones', () => {
    expect(() => routeAgent({ shape: 'backend', agent: 'copilot' }, defaults, ['codex', 'scripted'])).toThrow(
      /agent "copilot" .*requested by the spec.* not configured; configured agents: "codex", "scripted"/,
    );
    expect(() => routeAgent({ shape: 'spec' }, defaults, ['codex'])).toThrow(/agent "gemini" .*not configured; configured agents: "codex"/);
    expect(() => routeAgent({ shape: 'bug' }, defaults, [])).toThrow(/configured agents: none/);
  });
});
