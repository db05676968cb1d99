// `npm start` end to end: ready, doctor green, doctor red with the right fix when Postgres is down,
// a clean Ctrl-C that leaves nothing running, a restart that resumes, and a taken port reported.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { freePort } from '../../lib/ports.ts';
import { Client, Connection } from '@temporalio/client';
import { isAlive } from '../../lib/process.ts';
import { doctorRoundTrip } from '../../workflows/doctor.ts';
import { embeddedPostgresPid, processesMentioning, stackEnv, startStackProcess, swarm, type StackProcess } from '../harness/stack-process.ts';

interface DoctorJson {
  ok: boolean;
  checks: Array<{ name: string; status: string; detail: string; fix?: string }>;
}

let stack: StackProcess | undefined;
afterEach(async () => {
  if (stack && stack.child.exitCode === null) {
    // SIGTERM first: a SIGKILLed npm would leave its node process running.
    stack.child.kill('SIGTERM');
    const kill = setTimeout(() => stack?.child.kill('SIGKILL'), 30_000);
    await stack.exit;
    clearTimeout(kill);
  }
  stack = undefined;
});

async function waitUntil(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm start', () => {
  it('runs a stack the doctor passes, fails the doctor with the fix when Postgres is down, and stops cleanly', async () => {
    const env: NodeJS.ProcessEnv = { ...(await stackEnv('doctor')), GITHUB_WEBHOOK_SECRET: 'test-secret', SWARM_WEBHOOK_PORT: String(await freePort()) };
    stack = await startStackProcess(env);
    expect(stack.stdout()).toContain(`Web UI     http://127.0.0.1:${env.SWARM_TEMPORAL_UI_PORT}`);

    // The webhook endpoint runs with the stack when a secret is set, and checks signatures.
    const hook = `http://127.0.0.1:${env.SWARM_WEBHOOK_PORT}/webhooks/github`;
    expect(stack.stdout()).toContain(`Webhooks   ${hook}`);
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const signature = `sha256=${createHmac('sha256', 'test-secret').update(body).digest('hex')}`;
    const headers = { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': 'd-1' };
    expect((await fetch(hook, { method: 'POST', body, headers: { ...headers, 'x-hub-signature-256': signature } })).status).toBe(200);
    expect((await fetch(hook, { method: 'POST', body, headers: { ...headers, 'x-hub-signature-256': 'sha256=00' } })).status).toBe(401);

    const status = swarm(env, 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      stack: { running: true, pid: stack.child.pid, webhookUrl: `http://127.0.0.1:${env.SWARM_WEBHOOK_PORT}/webhooks/github` },
      temporal: { address: `127.0.0.1:${env.SWARM_TEMPORAL_PORT}`, reachable: true, embedded: true },
      database: { embedded: true, reachable: true },
      workers: [
        { taskQueue: env.SWARM_ORCHESTRATION_QUEUE, kind: 'orchestration', pollers: 1 },
        { taskQueue: `swarm-host-${env.SWARM_HOST_ID}`, kind: 'host', pollers: 1 },
      ],
      reaper: { scheduleId: `swarm-reaper-${env.SWARM_HOST_ID}`, everyMs: 600_000, paused: false },
    });
    // The stack made this host's reaper schedule; `swarm reap` runs the reaper now and prints its report.
    const reap = swarm(env, 'reap', '--json');
    expect(reap.code).toBe(0);
    expect(JSON.parse(reap.stdout)).toMatchObject({ hostQueue: `swarm-host-${env.SWARM_HOST_ID}`, removed: [], kept: [] });

    const green = swarm(env, 'doctor', '--json');
    const greenReport = JSON.parse(green.stdout) as DoctorJson;
    expect(greenReport.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(green.code).toBe(0);
    expect(greenReport.checks.find((c) => c.name === 'round-trip')?.detail).toContain(`${env.SWARM_HOST_ID} host queue`);

    // Postgres goes down under the running stack.
    const pgPid = embeddedPostgresPid(stack.stateDir);
    process.kill(pgPid, 'SIGINT');
    await waitUntil(() => !isAlive(pgPid));
    const red = swarm(env, 'doctor');
    expect(red.code).toBe(1);
    expect(red.stdout).toMatch(/^FAIL postgres +cannot reach Postgres at postgres:\/\/swarmflow@127\.0\.0\.1:\d+\/swarmflow/m);
    expect(red.stdout).toContain('fix: the embedded Postgres of `npm start` is down: stop the stack (Ctrl-C) and run `npm start` again');
    expect(red.stdout).toMatch(/^FAIL round-trip/m);
    expect(red.stdout).toMatch(/^ok {3}temporal-server/m);

    stack.child.kill('SIGINT');
    expect(await stack.exit).toBe(0);
    expect(processesMentioning(stack.stateDir)).toEqual([]);
    expect(swarm(env, 'status', '--json').stdout).toContain('"running": false');
  });

  it('resumes what was running when started again on the same state folder', async () => {
    const env = await stackEnv('resume');
    stack = await startStackProcess(env);
    const connection = await Connection.connect({ address: `127.0.0.1:${env.SWARM_TEMPORAL_PORT}` });
    // Accepted now, started by the server only after the stack is gone.
    const handle = await new Client({ connection }).workflow.start(doctorRoundTrip, {
      taskQueue: env.SWARM_ORCHESTRATION_QUEUE!,
      workflowId: 'survives-npm-start-restart',
      args: [`swarm-host-${env.SWARM_HOST_ID}`],
      startDelay: '3 seconds',
    });
    await connection.close();
    stack.child.kill('SIGTERM');
    expect(await stack.exit).toBe(0);

    stack = await startStackProcess(env);
    // The same sources: the bundle the first start built is reused.
    expect(stack.stderr()).toContain('"message":"workflow bundle reused"');
    const again = await Connection.connect({ address: `127.0.0.1:${env.SWARM_TEMPORAL_PORT}` });
    const result = await new Client({ connection: again }).workflow.getHandle<typeof doctorRoundTrip>(handle.workflowId).result();
    expect(result.host.hostId).toBe(env.SWARM_HOST_ID);
    await again.close();
    stack.child.kill('SIGINT');
    expect(await stack.exit).toBe(0);
  });

  // What a supervisor (systemd, a process manager, a container runtime) or a terminal sends to the
  // main process. The node process's own SIGINT and SIGTERM are the two tests above.
  it.each([
    ['SIGTERM to the npm start pid', 'SIGTERM', false],
    ['SIGINT to the npm start pid', 'SIGINT', false],
    ['Ctrl-C (SIGINT) to the npm start process group', 'SIGINT', true],
  ] as const)('%s stops every part of the stack', async (_, signal, group) => {
    const env = await stackEnv(`npm-${signal}-${group}`);
    stack = await startStackProcess(env, { viaNpm: true, ownGroup: group });
    expect(processesMentioning(stack.stateDir).length).toBeGreaterThanOrEqual(2);
    process.kill(group ? -stack.child.pid! : stack.child.pid!, signal);
    // A clean stop: npm exits 0, as the stack did.
    expect(await stack.exit).toBe(0);
    expect(stack.stderr()).toContain('"message":"stopped"');
    expect(processesMentioning(stack.stateDir)).toEqual([]);
  });

  it('leaves no server running when its node process is SIGKILLed, so the next start succeeds on the same ports', async () => {
    const env = await stackEnv('sigkill');
    stack = await startStackProcess(env);
    expect(processesMentioning(stack.stateDir).length).toBeGreaterThanOrEqual(2);
    stack.child.kill('SIGKILL');
    await stack.exit;
    await waitUntil(() => processesMentioning(stack!.stateDir).length === 0, 30_000);
    stack = await startStackProcess(env);
    stack.child.kill('SIGTERM');
    expect(await stack.exit).toBe(0);
  });

  it('refuses a taken port with a message naming the port and the env var, and leaves nothing running', async () => {
    const env = await stackEnv('port');
    const squatter: Server = createServer();
    await new Promise<void>((r) => squatter.listen(Number(env.SWARM_PG_PORT), '127.0.0.1', r));
    try {
      stack = await startStackProcess(env, { waitReady: false });
      expect(await stack.exit).toBe(1);
      expect(stack.stderr()).toContain(`port ${env.SWARM_PG_PORT} (embedded PostgreSQL) is already in use`);
      expect(stack.stderr()).toContain(`SWARM_PG_PORT=<port>`);
      // The dev server had started before Postgres failed: it must be gone too.
      expect(processesMentioning(stack.stateDir)).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it('reports an invalid configuration field by field and starts nothing', async () => {
    const env = { ...(await stackEnv('config')), SWARM_TEMPORAL_PORT: 'seventy', SWARM_LOG_LEVEL: 'LOUD' };
    stack = await startStackProcess(env, { waitReady: false });
    expect(await stack.exit).toBe(2);
    expect(stack.stderr()).toContain('temporal.devServer.port (env SWARM_TEMPORAL_PORT)');
    expect(stack.stderr()).toContain('log.level (env SWARM_LOG_LEVEL)');
    expect(processesMentioning(stack.stateDir)).toEqual([]);
  });
});
