// `swarm keys`: an approver's key pair as the CLI writes and reads it (the built CLI, as a user runs it).
import { describe, expect, it } from '@jest/globals';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseSigningKey } from '../../lib/keys.ts';
import { tempDir } from '../harness/paths.ts';
import { swarm } from '../harness/stack-process.ts';

describe('swarm keys', () => {
  it('creates a key 0600 in a 0700 folder, prints the public key for the configuration, never overwrites, and refuses a key others can read', () => {
    const dir = join(tempDir('keys'), 'approver-keys');
    const env = { PATH: process.env.PATH, HOME: tempDir('home'), SWARM_APPROVER_KEY_DIR: dir };
    const created = swarm(env, 'keys', 'create', 'alice');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const file = join(dir, 'alice.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const key = parseSigningKey(readFileSync(file, 'utf8'), file);
    expect(created.stdout).toContain(`public key:  ${key.publicKey}`);
    expect(created.stdout).toContain(`{ "name": "alice", "publicKey": "${key.publicKey}" }`);
    // The private key is in the file only, never printed.
    expect(created.stdout).not.toContain('PRIVATE KEY');

    const again = swarm(env, 'keys', 'create', 'alice');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${file} exists already: a key is never overwritten`);
    expect(parseSigningKey(readFileSync(file, 'utf8'), file).publicKey).toBe(key.publicKey);

    expect(swarm(env, 'keys', 'show', 'alice')).toMatchObject({ code: 0, stdout: `${key.publicKey}\n${key.keyId}\n` });
    chmodSync(file, 0o644);
    const exposed = swarm(env, 'keys', 'show', 'alice');
    expect(exposed.code).toBe(1);
    expect(exposed.stderr).toContain(`${file} is readable by others (mode 644): run chmod 600 ${file}`);

    const badName = swarm(env, 'keys', 'create', '../escape');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('"../escape" cannot name a key file');
  });
});
