// The GitHub forge authenticated as a GitHub App, against the stand-in (every request and response
// checked against GitHub's OpenAPI description): an installation token minted with the App's JWT
// (an RSA key pair generated here; the stand-in holds only the public key) drives both the REST
// client and git; a token close to expiry is replaced before use; a wrong key, app id or
// installation id is a non-retryable ForgeUnauthorized that names what is wrong and quotes no key.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { git } from '../../activities/git.ts';
import { appCredentials, appJwt, tokenCredentials } from '../../activities/forge/github/auth.ts';
import { createGitHubForge } from '../../activities/forge/github/github-forge.ts';
import { loadConfig, redactedConfig } from '../../lib/config.ts';
import { tempDir } from '../harness/paths.ts';
import { cloneFrom, commitOn } from '../harness/github/fixture.ts';
import { startStandin, type GitHubStandin } from '../harness/github/standin.ts';

const SEED_TOKEN = 'ghs_seedTokenForTestGitOnly';
const APP_ID = '4242';
const INSTALLATION_ID = '77';
const TOKEN_OP = 'apps/create-installation-access-token';

const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
const app = pair();
const other = pair();
let keyFile: string;
let otherKeyFile: string;
let standin: GitHubStandin;
let repoCount = 0;

/** Lines of a PEM body: any of them in a message would be key material. */
const keyChunks = (pem: string) => pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));

beforeAll(async () => {
  const dir = tempDir('gh-app-keys');
  keyFile = join(dir, 'app.pem');
  otherKeyFile = join(dir, 'other.pem');
  writeFileSync(keyFile, app.privateKey, { mode: 0o600 });
  writeFileSync(otherKeyFile, other.privateKey, { mode: 0o600 });
  standin = await startStandin({ root: tempDir('gh-app-standin'), tokens: [SEED_TOKEN], apps: [{ appId: APP_ID, publicKey: app.publicKey, installationId: INSTALLATION_ID }] });
});
afterAll(async () => {
  await standin?.stop();
});
afterEach(() => {
  expect(standin.takeViolations()).toEqual([]);
  standin.setInstallationTokenLifetime(3_600_000);
});

const makeForge = (over: { appId?: string; installationId?: string; privateKeyPath?: string; refreshMarginMs?: number } = {}) =>
  createGitHubForge({
    stateDir: tempDir('gh-app-state'),
    github: { baseUrl: standin.url, gitBaseUrl: standin.url, app: { appId: APP_ID, installationId: INSTALLATION_ID, privateKeyPath: keyFile, ...over } },
  });

const tokenRequests = () => standin.log.filter((l) => l.operationId === TOKEN_OP);

async function setup() {
  const repository = `acme/app${++repoCount}`;
  const [owner, name] = repository.split('/') as [string, string];
  await standin.createRepo(owner, name, { 'README.md': 'hello\n' });
  const clone = await cloneFrom(standin, repository, SEED_TOKEN);
  const branch = `swarm/app-${repoCount}`;
  const sha = await commitOn(clone, branch, { 'feature.txt': `feature ${repoCount}\n` }, 'agent work');
  return { repository, clone, branch, sha };
}

async function failureOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

function expectUnauthorized(err: Error): ApplicationFailure {
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  expect(f.type).toBe('ForgeUnauthorized');
  expect(f.nonRetryable).toBe(true);
  const said = `${f.message} ${JSON.stringify(f.details ?? [])}`;
  for (const chunk of [...keyChunks(app.privateKey), ...keyChunks(other.privateKey)]) expect(said).not.toContain(chunk);
  expect(said).not.toMatch(/PRIVATE KEY|eyJ/);
  return f;
}

describe('GitHub App authentication', () => {
  it('mints an installation token with the App JWT and pushes and opens a PR with it', async () => {
    const before = tokenRequests().length;
    const forge = makeForge();
    const s = await setup();
    const pushed = await forge.pushBranch({ repository: s.repository, worktree: s.clone, branch: s.branch });
    expect(pushed.headSha).toBe(s.sha);
    expect(await standin.branchSha(s.repository, s.branch)).toBe(s.sha);
    const pr = await forge.ensurePr({ taskId: 'app-task', repository: s.repository, base: 'main', branch: s.branch, title: 'By the App', body: 'b' });
    expect(pr).toMatchObject({ branch: s.branch, headSha: s.sha, state: 'open' });
    expect((await forge.getPr({ repository: s.repository, number: pr.number })).number).toBe(pr.number);
    // One token for git and the REST calls: cached, not minted per call.
    expect(tokenRequests().slice(before)).toEqual([expect.objectContaining({ status: 201 })]);
    const [issued] = standin.issuedInstallationTokens().slice(-1);
    const config = (await git(s.clone, ['config', '--list', '--show-origin'])).stdout;
    expect(config).not.toContain(issued!.token);
  });

  it('replaces a token close to expiry before using it, for the API and for git', async () => {
    standin.setInstallationTokenLifetime(2_000);
    const margin = 1_000;
    const forge = makeForge({ refreshMarginMs: margin });
    const s = await setup();
    const before = tokenRequests().length;
    await forge.pushBranch({ repository: s.repository, worktree: s.clone, branch: s.branch });
    const pr = await forge.ensurePr({ taskId: 'app-refresh', repository: s.repository, base: 'main', branch: s.branch, title: 'Refresh', body: 'b' });
    expect(tokenRequests().length - before).toBe(1);
    const first = standin.issuedInstallationTokens().at(-1)!;
    // Into the margin: the cached token still works on GitHub but is about to expire.
    await sleep(Math.max(0, first.expiresAt - margin - Date.now()) + 50);
    expect(Date.now()).toBeLessThan(first.expiresAt);
    const again = await forge.getPr({ repository: s.repository, number: pr.number });
    expect(again.number).toBe(pr.number);
    expect(tokenRequests().length - before).toBe(2);
    const second = standin.issuedInstallationTokens().at(-1)!;
    expect(second.token).not.toBe(first.token);
    // Past the first token's expiry: the stand-in refuses it, the forge's pushes still go through.
    await sleep(Math.max(0, first.expiresAt - Date.now()) + 50);
    const stale = await fetch(`${standin.url}/repos/${s.repository}/pulls/${pr.number}`, { headers: { authorization: `token ${first.token}` } });
    expect(stale.status).toBe(401);
    await commitOn(s.clone, s.branch, { 'more.txt': 'more\n' }, 'more work');
    const pushed = await forge.pushBranch({ repository: s.repository, worktree: s.clone, branch: s.branch });
    expect(await standin.branchSha(s.repository, s.branch)).toBe(pushed.headSha);
  });

  it('concurrent calls share one refresh', async () => {
    const source = appCredentials({ baseUrl: standin.url, appId: APP_ID, installationId: INSTALLATION_ID, privateKeyPath: keyFile });
    const before = tokenRequests().length;
    const tokens = await Promise.all([source.token(), source.token(), source.token()]);
    expect(new Set(tokens).size).toBe(1);
    expect(tokenRequests().length - before).toBe(1);
    expect(await tokenCredentials('ghp_x').token()).toBe('ghp_x');
  });

  it('signs the JWT as GitHub documents: RS256, iat backdated, exp within 10 minutes, iss the App id', () => {
    const now = Date.UTC(2025, 0, 1);
    const [h, p] = appJwt(APP_ID, createPrivateKey(app.privateKey), now).split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { iat: number; exp: number; iss: number };
    expect(claims.iss).toBe(4242);
    expect(claims.iat).toBe(now / 1000 - 60);
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(600);
    expect(claims.exp).toBeGreaterThan(now / 1000);
  });
});

describe('App credentials that cannot work', () => {
  it('a private key of another App: ForgeUnauthorized naming the app id and key file, no key material', async () => {
    const s = await setup();
    const forge = makeForge({ privateKeyPath: otherKeyFile });
    const api = expectUnauthorized(await failureOf(forge.getPr({ repository: s.repository, number: 1 })));
    expect(api.message).toContain(`GitHub App ${APP_ID}`);
    expect(api.message).toContain(otherKeyFile);
    expect(api.message).toMatch(/401/);
    const push = expectUnauthorized(await failureOf(forge.pushBranch({ repository: s.repository, worktree: s.clone, branch: s.branch })));
    expect(push.message).toContain(otherKeyFile);
    expect(await standin.branchSha(s.repository, s.branch)).toBeUndefined();
  });

  it('a wrong App id or installation id is named as such', async () => {
    const wrongApp = expectUnauthorized(await failureOf(makeForge({ appId: '999' }).getPr({ repository: 'acme/app1', number: 1 })));
    expect(wrongApp.message).toMatch(/App 999.*GITHUB_APP_ID/);
    const wrongInstallation = expectUnauthorized(await failureOf(makeForge({ installationId: '78' }).getPr({ repository: 'acme/app1', number: 1 })));
    expect(wrongInstallation.message).toMatch(/no installation 78.*GITHUB_APP_INSTALLATION_ID/);
  });

  it('a missing or unparseable key file is named, never quoted', async () => {
    const missing = expectUnauthorized(await failureOf(makeForge({ privateKeyPath: join(tempDir('gh-app-none'), 'nope.pem') }).getPr({ repository: 'acme/app1', number: 1 })));
    expect(missing.message).toMatch(/nope\.pem.*ENOENT/);
    const garbled = join(tempDir('gh-app-bad'), 'bad.pem');
    // A truncated key: the parser must not echo any of it.
    writeFileSync(garbled, app.privateKey.slice(0, 400));
    const bad = expectUnauthorized(await failureOf(makeForge({ privateKeyPath: garbled }).getPr({ repository: 'acme/app1', number: 1 })));
    expect(bad.message).toContain('bad.pem');
  });
});

describe('configuration', () => {
  const emptyFile = () => {
    const f = join(tempDir('gh-app-config'), 'swarmflow.config.json');
    writeFileSync(f, '{}\n');
    return f;
  };

  it('reads the App from GITHUB_APP_*; the config holds the key path only', () => {
    const config = loadConfig({ file: emptyFile(), env: { GITHUB_APP_ID: APP_ID, GITHUB_APP_INSTALLATION_ID: INSTALLATION_ID, GITHUB_APP_PRIVATE_KEY_PATH: keyFile } });
    expect(config.github.app).toEqual({ appId: APP_ID, installationId: INSTALLATION_ID, privateKeyPath: keyFile });
    const shown = JSON.stringify(redactedConfig(config));
    for (const chunk of keyChunks(app.privateKey)) expect(shown).not.toContain(chunk);
  });

  it('refuses a token and an App together, and an incomplete App, naming the env vars', () => {
    expect(() => loadConfig({ file: emptyFile(), env: { GITHUB_TOKEN: 't', GITHUB_APP_ID: '1', GITHUB_APP_INSTALLATION_ID: '2', GITHUB_APP_PRIVATE_KEY_PATH: keyFile } })).toThrow(/either GITHUB_TOKEN or the GitHub App/);
    expect(() => loadConfig({ file: emptyFile(), env: { GITHUB_APP_ID: '1' } })).toThrow(/GITHUB_APP_INSTALLATION_ID/);
  });
});
