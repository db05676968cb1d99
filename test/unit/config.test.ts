import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostQueue, loadConfig, redactedConfig } from '../../lib/config.ts';
import { problemsOf } from '../harness/config-problems.ts';

const noFile = join(tmpdir(), 'swarmflow-no-such-config.json');
const load = (env: NodeJS.ProcessEnv, file?: string) => loadConfig({ env, file });

describe('configuration', () => {
  it('has embedded defaults with no file and no env', () => {
    const config = load({});
    expect(config.temporal.address).toBeUndefined();
    expect(config.temporal.devServer).toEqual({ ip: '127.0.0.1', port: 7233, uiPort: 8233 });
    expect(config.database.url).toBeUndefined();
    expect(config.workers.orchestrationQueue).toBe('swarm-orchestration');
    expect(hostQueue(config)).toBe(`swarm-host-${config.workers.hostId}`);
  });

  it('applies env over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
    const file = join(dir, 'swarmflow.config.json');
    writeFileSync(file, JSON.stringify({ temporal: { namespace: 'from-file', devServer: { port: 7000 } }, log: { level: 'DEBUG' } }));
    const config = load({ SWARM_TEMPORAL_PORT: '7100', TEMPORAL_TLS: 'false' }, file);
    expect(config.temporal.namespace).toBe('from-file');
    expect(config.temporal.devServer.port).toBe(7100);
    expect(config.temporal.tls.enabled).toBe(false);
    expect(config.log.level).toBe('DEBUG');
  });

  it('lists every bad field at once, naming the env var and what was expected', () => {
    const problems = problemsOf(() =>
      load({ SWARM_TEMPORAL_PORT: 'abc', SWARM_LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://db', TEMPORAL_ADDRESS: 'no-port', SWARM_SHUTDOWN_GRACE: 'soon' }),
    );
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/temporal\.devServer\.port \(env SWARM_TEMPORAL_PORT\): .*number/);
    expect(problems.join('\n')).toMatch(/log\.level \(env SWARM_LOG_LEVEL\): .*"INFO"/);
    expect(problems.join('\n')).toMatch(/database\.url \(env DATABASE_URL\): a postgres:\/\/ URL/);
    expect(problems.join('\n')).toMatch(/temporal\.address \(env TEMPORAL_ADDRESS\): host:port/);
    expect(problems.join('\n')).toMatch(/workers\.shutdownGraceTime \(env SWARM_SHUTDOWN_GRACE\): a duration/);
  });

  it('keeps attempt logs 30 days unless SWARM_LOG_RETENTION says otherwise, and refuses a retention that is no duration or under an hour', () => {
    expect(load({}).tasks.logRetention).toBe('30d');
    expect(load({ SWARM_LOG_RETENTION: '90d' }).tasks.logRetention).toBe('90d');
    expect(problemsOf(() => load({ SWARM_LOG_RETENTION: 'a month' }))).toEqual(['tasks.logRetention (env SWARM_LOG_RETENTION): a duration such as "30s", "10m" or "1d"']);
    expect(problemsOf(() => load({ SWARM_LOG_RETENTION: '10m' }))).toEqual([
      'tasks.logRetention (env SWARM_LOG_RETENTION): at least "1h": a shorter retention would remove the logs of a task that has only just ended',
    ]);
  });

  it('runs the whole stack unless SWARM_WORKER_ROLE says host, and beats every 10 s unless SWARM_HOST_HEARTBEAT says otherwise', () => {
    expect(load({}).workers).toMatchObject({ role: 'all', heartbeatInterval: '10s' });
    expect(load({ SWARM_WORKER_ROLE: 'host', SWARM_HOST_HEARTBEAT: '2s' }).workers).toMatchObject({ role: 'host', heartbeatInterval: '2s' });
    const problems = problemsOf(() => load({ SWARM_WORKER_ROLE: 'orchestration', SWARM_HOST_HEARTBEAT: '10ms' }));
    expect(problems.join('\n')).toMatch(/workers\.role \(env SWARM_WORKER_ROLE\): .*"all".*"host"/);
    expect(problems.join('\n')).toMatch(/workers\.heartbeatInterval \(env SWARM_HOST_HEARTBEAT\): at least "1s"/);
  });

  it('reports a file that is not JSON, and one named but missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ nope');
    expect(problemsOf(() => load({}, file))[0]).toMatch(/bad\.json: not valid JSON/);
    expect(problemsOf(() => loadConfig({ env: { SWARM_CONFIG: noFile } }))[0]).toMatch(/does not exist \(set by SWARM_CONFIG\)/);
  });

  it('refuses secrets in the file: they come from env only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
    const file = join(dir, 'swarmflow.config.json');
    writeFileSync(file, JSON.stringify({ temporal: { apiKey: 'k-123' }, database: { url: 'postgres://u:p@h/db' } }));
    const problems = problemsOf(() => load({}, file));
    expect(problems).toEqual([
      expect.stringContaining('temporal.apiKey: secrets are read from env only; move it to TEMPORAL_API_KEY'),
      expect.stringContaining('database.url: secrets are read from env only; move it to DATABASE_URL'),
    ]);
  });

  it('redacts secrets when the configuration is shown', () => {
    const config = load({ TEMPORAL_API_KEY: 'sk-secret', DATABASE_URL: 'postgres://app:hunter2@db:5432/swarm' });
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toContain('sk-secret');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('postgres://app:%5Bredacted%5D@db:5432/swarm');
  });
});

describe('configuration refuses what it would otherwise drop or send nowhere', () => {
  const withFile = (content: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
    const file = join(dir, 'swarmflow.config.json');
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it('reads approvers with their identities, from the file or SWARM_APPROVERS, and refuses a malformed key, a duplicate name or a private key in the file', () => {
    const key = `ed25519:${'ab'.repeat(32)}`;
    const fromEnv = load({ SWARM_APPROVERS: JSON.stringify([{ name: 'alice', publicKey: key, github: 'alice-gh', telegram: '4242' }, 'bob']) });
    expect(fromEnv.approvers).toEqual([{ name: 'alice', publicKey: key, github: 'alice-gh', telegram: 4242 }, { name: 'bob' }]);
    expect(load({ SWARM_APPROVERS: 'alice, bob' }).approvers).toEqual([{ name: 'alice' }, { name: 'bob' }]);
    expect(problemsOf(() => load({ SWARM_APPROVERS: JSON.stringify([{ name: 'alice', publicKey: 'ssh-ed25519 AAAA' }]) }))).toEqual([
      'approvers.0.publicKey: an Ed25519 public key as `ed25519:<64 hex digits>`, as `swarm keys create` prints it',
    ]);
    expect(problemsOf(() => load({ SWARM_APPROVERS: 'alice,alice' })).join('\n')).toContain('each approver is named once');
    const dir = mkdtempSync(join(tmpdir(), 'swarmflow-config-'));
    const file = join(dir, 'swarmflow.config.json');
    writeFileSync(file, JSON.stringify({ keys: { orchestratorKey: '-----BEGIN PRIVATE KEY-----' } }));
    expect(problemsOf(() => load({}, file))).toEqual([expect.stringContaining('keys.orchestratorKey: secrets are read from env only; move it to SWARM_ORCHESTRATOR_KEY')]);
  });

  it('names a misspelt key, with the one it was likely meant to be', () => {
    const problems = problemsOf(() => load({}, withFile({ aprovers: ['alice'], host: { maxAgent: 2 }, agents: { x: { command: ['x'], passenv: [] } } })));
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^agents\.x: unknown key "passenv" \(did you mean "passEnv"\?\)/),
      expect.stringMatching(/^\(root\): unknown key "aprovers" \(did you mean "approvers"\?\)/),
      expect.stringMatching(/^host: unknown key "maxAgent" \(did you mean "maxAgents"\?\)$/),
    ]));
  });

  it('lists the known keys when nothing is close', () => {
    const [problem] = problemsOf(() => load({}, withFile({ tasks: { zzz: 1 } })));
    expect(problem).toBe('tasks: unknown key "zzz"; known keys here: approvalReminder, hostUnansweredTimeout, logRetention');
  });

  it('refuses a configured route to an agent that is not configured', () => {
    const problems = problemsOf(() => load({}, withFile({ agents: { scripted: { command: ['node', 'a.mjs'] } }, routing: { backend: 'scripted', ui: 'claud', spec: { concept: 'gemini', implement: 'scripted' } } })));
    expect(problems).toEqual([
      'routing.ui: agent "claud" is not configured; configured agents: "scripted"',
      'routing.spec: agent "gemini" is not configured; configured agents: "scripted"',
    ]);
  });

  it('accepts routes to configured agents, and defaults the file left alone', () => {
    const config = load({}, withFile({ agents: { scripted: { command: ['node', 'a.mjs'] } }, routing: { backend: 'scripted' } }));
    expect(config.routing.backend).toBe('scripted');
    expect(config.routing.ui).toBe('claude');
  });
});
