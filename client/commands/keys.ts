// `swarm keys`: an approver's Ed25519 key pair. The private key stays on the approver's machine
// (0600, never in the configuration); the public key it prints goes into the configuration's
// approvers, where the task workflow checks every signed decision against it.
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config.ts';
import { generateSigningKey, orchestratorKey, readPrivateKey, writePrivateKey } from '../../lib/keys.ts';
import { approverKeyFile } from '../approver-key.ts';
import { InvalidOptionError } from './tasks.ts';

function keyFileFor(name: string, out: string | undefined): string {
  const file = out ?? approverKeyFile({ keys: { ...loadConfig().keys, approverKeyFile: undefined } }, name);
  if (!file) throw new InvalidOptionError(`"${name}" cannot name a key file (letters, digits, ".", "_", "-"); give one with --out <file>`);
  return file;
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description("approvers' Ed25519 keys: swarm approve and swarm reject sign with them");
  keys
    .command('create <name>')
    .description("create <name>'s key pair: the private key in a 0600 file (never overwritten), the public key printed for the configuration's approvers. Exit 1: a key is there already")
    .option('--out <file>', 'where to write the private key (default: ~/.config/swarmflow/keys/<name>.key, or SWARM_APPROVER_KEY_DIR)')
    .action((name: string, o: { out?: string }) => {
      const file = keyFileFor(name, o.out);
      const key = generateSigningKey();
      writePrivateKey(file, key.privateKeyPem);
      process.stdout.write(
        `created ${name}'s key ${key.keyId}\n  private key: ${file} (mode 0600: keep it there, never in the configuration)\n  public key:  ${key.publicKey}\n` +
          `add to the approvers in swarmflow.config.json:\n  { "name": ${JSON.stringify(name)}, "publicKey": "${key.publicKey}" }\n`,
      );
    });
  keys
    .command('show [name]')
    .description("print <name>'s public key and key id (or, with --orchestrator, this host's orchestrator key's, which signs the evidence). Exit 1: no key")
    .option('--out <file>', "the private key's file, if not the default")
    .option('--orchestrator', "the orchestrator's key (on a worker host)")
    .action((name: string | undefined, o: { out?: string; orchestrator?: boolean }) => {
      if (!o.orchestrator && !name) throw new InvalidOptionError('give an approver name, or --orchestrator');
      const key = o.orchestrator ? orchestratorKey(loadConfig()) : readPrivateKey(keyFileFor(name!, o.out));
      process.stdout.write(`${key.publicKey}\n${key.keyId}\n`);
    });
}
