// The spawner (lib/spawner): commands started by a small process of its own, with exactly the
// environment, input, timeout and exit codes the worker asked for; a dead spawner is started again.
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runCommand } from '../../lib/spawner/run.ts';
import { PROJECT_ROOT } from '../../scripts/tools.mjs';

const PATH = process.env.PATH ?? '/usr/bin:/bin';

describe('runCommand', () => {
  it('gives the output with one final newline off, the exit code, and only the environment it was given', async () => {
    await expect(runCommand({ file: 'sh', args: ['-c', 'printf "a\\nb\\n\\n"; printf "warn\\n" >&2; exit 3'], env: { PATH } })).resolves.toEqual({ stdout: 'a\nb\n', stderr: 'warn', exitCode: 3, timedOut: false });
    const env = await runCommand({ file: 'env', args: [], env: { PATH, ONLY: 'this' } });
    expect(env.stdout.split('\n').sort()).toEqual([`PATH=${PATH}`, 'ONLY=this'].sort());
  });

  it('feeds the input on stdin, and closes it when there is none', async () => {
    await expect(runCommand({ file: 'cat', args: [], env: { PATH }, input: 'line one\nline two' })).resolves.toMatchObject({ stdout: 'line one\nline two', exitCode: 0 });
    await expect(runCommand({ file: 'cat', args: [], env: { PATH } })).resolves.toMatchObject({ stdout: '', exitCode: 0 });
  });

  it('runs in the folder asked for, and many at once', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => runCommand({ file: 'sh', args: ['-c', `pwd; echo ${i}`], cwd: '/tmp', env: { PATH } })));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 30 }, (_, i) => `/tmp\n${i}`));
  });

  it('stops a command at its timeout and says so; a command that cannot start says why', async () => {
    await expect(runCommand({ file: 'sleep', args: ['5'], env: { PATH }, timeoutMs: 200 })).resolves.toMatchObject({ exitCode: null, timedOut: true });
    const missing = await runCommand({ file: 'no-such-binary-swarmflow', args: [], env: { PATH } });
    expect(missing).toMatchObject({ exitCode: null, timedOut: false });
    expect(missing.stderr).toContain('ENOENT');
  });

  it('starts its spawner again when it died, and fails the commands it was running with the reason', async () => {
    const pidOf = async () => Number((await runCommand({ file: 'sh', args: ['-c', 'echo $PPID'], env: { PATH } })).stdout);
    const first = await pidOf();
    const running = runCommand({ file: 'sleep', args: ['5'], env: { PATH } });
    process.kill(first, 'SIGKILL');
    await expect(running).rejects.toThrow(/^swarmflow's spawner process exited \(SIGKILL\) while running a command$/);
    const second = await pidOf();
    expect(second).not.toBe(first);
  });

  it('keeps no process alive once its commands are done: a script that used it exits', () => {
    const script = `import { runCommand } from ${JSON.stringify(join(PROJECT_ROOT, 'lib', 'spawner', 'run.ts'))}; const r = await runCommand({ file: 'echo', args: ['done'], env: { PATH: process.env.PATH } }); console.log(r.stdout);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('done');
  });
});
