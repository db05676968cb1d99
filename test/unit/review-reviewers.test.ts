// The reviewer config (command or CLI reviewers) as the task receives it, and the per-reviewer
// `checks` flags the runbook asks for.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskConfig } from '../../activities/setup.ts';
import { ConfigError, loadConfig } from '../../lib/config.ts';
import { reviewChecks, type Finding } from '../../workflows/task/types.ts';

function configWith(reviewers: unknown[]) {
  const file = join(mkdtempSync(join(tmpdir(), 'swarm-reviewers-config-')), 'swarmflow.json');
  writeFileSync(file, JSON.stringify({ reviewers }));
  return loadConfig({ env: {}, file });
}

describe('reviewer config', () => {
  it('takes command reviewers as before and CLI reviewers with a focus and the agents’ CLI settings', () => {
    const config = configWith([
      { name: 'strict', command: ['node', 'review.mjs'], timeout: '1m' },
      { name: 'codex', kind: 'codex', focus: 'edge-cases', model: 'gpt-5-codex', baseUrl: 'http://127.0.0.1:9/v1', retries: 2 },
      { name: 'claude', kind: 'claude', focus: 'look for races in the queue code', model: 'claude-sonnet-4-5', apiKeyEnv: 'REVIEW_ANTHROPIC_KEY', binary: '/opt/claude' },
    ]);
    expect(taskConfig(config, false).reviewers).toEqual([
      { name: 'strict', command: ['node', 'review.mjs'], timeoutMs: 60_000 },
      { name: 'codex', kind: 'codex', focus: 'edge-cases', model: 'gpt-5-codex', binary: 'codex', apiKeyEnv: undefined, baseUrl: 'http://127.0.0.1:9/v1', args: [], retries: 2, timeoutMs: 600_000 },
      { name: 'claude', kind: 'claude', focus: 'look for races in the queue code', model: 'claude-sonnet-4-5', binary: '/opt/claude', apiKeyEnv: 'REVIEW_ANTHROPIC_KEY', baseUrl: undefined, args: [], retries: undefined, timeoutMs: 600_000 },
    ]);
  });

  it('refuses a CLI reviewer without a model or a focus, and a command mixed with a CLI', () => {
    for (const bad of [
      { name: 'codex', kind: 'codex', focus: 'edge-cases' },
      { name: 'codex', kind: 'codex', model: 'gpt-5-codex' },
      { name: 'codex', kind: 'codex', focus: 'edge-cases', model: 'gpt-5-codex', command: ['x'] },
    ]) {
      expect(() => configWith([bad])).toThrow(ConfigError);
    }
  });
});

describe('reviewChecks', () => {
  const finding = (severity: Finding['severity']): Finding => ({ severity, file: 'a.ts', line: 1, message: 'm' });

  it('gives <name>ReviewPassed per reviewer: answered, and nothing critical', () => {
    const verdict = {
      headSha: 'c'.repeat(40),
      results: [
        { reviewer: 'codex', status: 'ok' as const, findings: [finding('major'), finding('minor')] },
        { reviewer: 'claude', status: 'ok' as const, findings: [finding('critical')] },
        { reviewer: 'security-bot', status: 'failed' as const, findings: [], error: 'rate limited: still refused after 5 tries' },
      ],
    };
    expect(reviewChecks(verdict)).toEqual({ codexReviewPassed: true, claudeReviewPassed: false, securityBotReviewPassed: false });
  });
});
