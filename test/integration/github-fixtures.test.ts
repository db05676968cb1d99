// Recorded REAL GitHub exchanges (@octokit/fixtures, recorded against api.github.com) replayed to
// the GitHub forge: a tiny HTTP server on 127.0.0.1 answers with the recorded status, headers and
// body, the forge's real octokit talks to it, and we assert what the forge makes of them.
//
// What @octokit/fixtures records that the forge touches (23.x, scenarios/api.github.com):
// - create-status: GET /commits/{sha}/status, the combined status (one failure, one success)
//   → runCi's commit-status half and the CI verdict;
// - branch-protection: a 404 ("Branch not protected"), with GitHub's real headers
//   (x-ratelimit-remaining: 4999) → a 404 on a forge call: ForgeNotFound, never "rate limited";
// - errors: a 422 "Validation Failed" with an errors[] entry (resource/code/field, no message)
//   → ensurePr's 422 handling.
// It has no pull request, check run, 401, 403, 429, secondary rate limit or 5xx exchange: those are
// covered against the OpenAPI-validated stand-in (github-forge.test.ts). Where a recorded response
// is served for another path of the same kind (a 404 for a PR), the test says so.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createGitHubForge, type GitHubForge } from '../../activities/forge/github/github-forge.ts';
import { retryDelayMs, toTemporalFailure } from '../../activities/forge/github/errors.ts';
import { FailureType } from '../../activities/errors.ts';
import { tempDir } from '../harness/paths.ts';

interface RecordedExchange {
  scope: string;
  method: string;
  path: string;
  status: number;
  response: unknown;
  headers: Record<string, string | number>;
}

const FIXTURES_ROOT = join(dirname(createRequire(import.meta.url).resolve('@octokit/fixtures/package.json')), 'scenarios', 'api.github.com');

function scenario(name: string): RecordedExchange[] {
  return JSON.parse(readFileSync(join(FIXTURES_ROOT, name, 'normalized-fixture.json'), 'utf8')) as RecordedExchange[];
}

function recorded(name: string, method: string, pathSuffix: string): RecordedExchange {
  const found = scenario(name).find((x) => x.method === method && x.path.endsWith(pathSuffix));
  if (!found) throw new Error(`@octokit/fixtures ${name} has no ${method} …${pathSuffix}`);
  return found;
}

// ---- the replay server ----

interface Route {
  method: string;
  /** The path the forge asks for (query string not part of the match). */
  path: string;
  answer: { status: number; headers: Record<string, string | number>; body: unknown };
}

interface Seen {
  method: string;
  url: string;
  authorization?: string;
}

/** Hop-by-hop and length headers are the server's own business; everything else is sent as recorded. */
const NOT_REPLAYED = new Set(['content-length', 'connection', 'transfer-encoding']);

class Replay {
  readonly seen: Seen[] = [];
  readonly unmatched: Seen[] = [];
  private routes: Route[] = [];
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  url = '';

  static async start(): Promise<Replay> {
    const replay = new Replay();
    await new Promise<void>((resolve) => replay.server.listen(0, '127.0.0.1', resolve));
    replay.url = `http://127.0.0.1:${(replay.server.address() as AddressInfo).port}`;
    return replay;
  }

  serve(routes: Route[]): void {
    this.routes = routes;
    this.seen.length = 0;
    this.unmatched.length = 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const seen: Seen = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization };
    this.seen.push(seen);
    const path = (req.url ?? '').split('?')[0];
    const route = this.routes.find((r) => r.method.toUpperCase() === req.method && r.path === path);
    if (!route) {
      this.unmatched.push(seen);
      res.writeHead(599, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `replay: nothing recorded for ${req.method} ${req.url}` }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(route.answer.headers)) if (!NOT_REPLAYED.has(k.toLowerCase())) headers[k] = String(v);
    res.writeHead(route.answer.status, headers);
    const body = route.answer.body;
    res.end(body === '' || body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

const fromRecording = (x: RecordedExchange): Route['answer'] => ({ status: x.status, headers: x.headers, body: x.response });

// ---- the tests ----

const TOKEN = 'ghp_fixtureReplaySecretToken0123456789';
let replay: Replay;
let forge: GitHubForge;

beforeAll(async () => {
  replay = await Replay.start();
  forge = createGitHubForge({ stateDir: tempDir('gh-fixtures-state'), github: { baseUrl: replay.url, token: TOKEN, gitBaseUrl: replay.url } });
});
afterAll(async () => {
  await replay?.stop();
});
afterEach(() => {
  // The forge asked only for what was recorded (no stray or extra calls), with its token.
  expect(replay.unmatched).toEqual([]);
  for (const s of replay.seen) expect(s.authorization).toMatch(new RegExp(`^(token|bearer) ${TOKEN}$`, 'i'));
});

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('recorded combined commit status (create-status)', () => {
  const combined = recorded('create-status', 'get', '/status');
  const repository = 'octokit-fixture-org/create-status';
  const sha = (combined.response as { sha: string }).sha;

  it('is the recording we think it is: GitHub\'s combined state "failure" over example/1 (failure) and example/2 (success)', () => {
    const body = combined.response as { state: string; statuses: Array<{ context: string; state: string }> };
    expect(combined.status).toBe(200);
    expect(body.state).toBe('failure');
    expect(body.statuses.map((s) => [s.context, s.state])).toEqual([
      ['example/1', 'failure'],
      ['example/2', 'success'],
    ]);
  });

  it('runCi turns it into a failed verdict naming the failing status, its state and its link', async () => {
    replay.serve([
      { method: 'GET', path: `/repos/${repository}/commits/${sha}/status`, answer: fromRecording(combined) },
      // Not recorded by @octokit/fixtures: a commit with no check runs, GitHub's empty list shape.
      { method: 'GET', path: `/repos/${repository}/commits/${sha}/check-runs`, answer: { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: { total_count: 0, check_runs: [] } } },
    ]);
    const verdict = await forge.runCi({ taskId: 'fixture-task', repository, number: 1, headSha: sha, checks: [], requiredChecks: ['example/2', 'deploy/preview'] });

    expect(verdict.status).toBe('failed');
    expect(verdict.headSha).toBe(sha);
    const byName = Object.fromEntries(verdict.checks.map((c) => [c.name, c]));
    expect(byName['example/1']).toMatchObject({ kind: 'status', status: 'failed', conclusion: 'failure', detailsUrl: 'https://example.com', outputTail: 'create-status failure test' });
    expect(byName['example/2']).toMatchObject({ kind: 'status', status: 'passed', conclusion: 'success', detailsUrl: 'https://example.com', outputTail: 'create-status success test' });
    // A required check nothing reported is listed as missing (pending), never as passed.
    expect(byName['deploy/preview']).toMatchObject({ kind: 'required', status: 'pending', conclusion: 'missing' });
    expect(verdict.checks).toHaveLength(3);
    // The evidence for the agent: the failing check, its state and its link; not the passing one.
    expect(verdict.summary).toBe('failing: example/1 (failure, https://example.com)');

    // It read both halves at the head SHA: the latest check runs and the combined status.
    const urls = replay.seen.map((s) => s.url);
    expect(urls.some((u) => u.startsWith(`/repos/${repository}/commits/${sha}/check-runs?`) && u.includes('filter=latest'))).toBe(true);
    expect(urls.some((u) => u.startsWith(`/repos/${repository}/commits/${sha}/status`))).toBe(true);
  });

  it('the same recorded statuses without the failure are pending while a required check is missing, then green', async () => {
    // The recording, with its failing entry removed: GitHub's own objects for a passing status.
    const body = combined.response as { state: string; statuses: Array<{ state: string }> };
    const passingOnly = { ...body, state: 'success', statuses: body.statuses.filter((s) => s.state === 'success') };
    replay.serve([
      { method: 'GET', path: `/repos/${repository}/commits/${sha}/status`, answer: { ...fromRecording(combined), body: passingOnly } },
      { method: 'GET', path: `/repos/${repository}/commits/${sha}/check-runs`, answer: { status: 200, headers: { 'content-type': 'application/json' }, body: { total_count: 0, check_runs: [] } } },
    ]);
    const waiting = await forge.runCi({ taskId: 'fixture-task', repository, number: 1, headSha: sha, checks: [], requiredChecks: ['deploy/preview'] });
    expect(waiting.status).toBe('pending');
    expect(waiting.summary).toBe('waiting for: deploy/preview (missing)');

    const green = await forge.runCi({ taskId: 'fixture-task', repository, number: 1, headSha: sha, checks: [], requiredChecks: ['example/2'] });
    expect(green.status).toBe('passed');
    expect(green.checks.map((c) => [c.name, c.status])).toEqual([['example/2', 'passed']]);
  });
});

describe('recorded 404 (branch-protection: "Branch not protected")', () => {
  const notFound = recorded('branch-protection', 'get', '/branches/main/protection');

  it('is a real 404 with GitHub\'s rate-limit headers (plenty left)', () => {
    expect(notFound.status).toBe(404);
    expect(notFound.headers['x-ratelimit-remaining']).toBe('4999');
    expect(notFound.headers['retry-after']).toBeUndefined();
    // No Retry-After and budget left: nothing tells Temporal to wait.
    expect(retryDelayMs(notFound.headers)).toBeUndefined();
  });

  it('served for a PR read, becomes ForgeNotFound, non-retryable, naming the PR and the permission (not a rate limit)', async () => {
    // The recorded 404 answer, served where the forge reads PR #7 (the fixtures record no PR 404).
    replay.serve([{ method: 'GET', path: '/repos/octokit-fixture-org/branch-protection/pulls/7', answer: fromRecording(notFound) }]);
    const failure = await failureOf(forge.getPr({ repository: 'octokit-fixture-org/branch-protection', number: 7 }));
    expect(failure.type).toBe(FailureType.ForgeNotFound);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.message).toContain('PR #7 of octokit-fixture-org/branch-protection was not found while reading PR #7 of octokit-fixture-org/branch-protection (404)');
    expect(failure.message).toContain('"Pull requests: read"');
    expect(failure.message).not.toContain(TOKEN);
    expect(replay.seen).toHaveLength(1);
  });

  it('toTemporalFailure reads the recorded body and headers the same way when given octokit\'s error', async () => {
    // octokit's own RequestError for the recorded answer (the shape toTemporalFailure sees in production).
    replay.serve([{ method: 'GET', path: '/repos/octokit-fixture-org/branch-protection/branches/main/protection', answer: fromRecording(notFound) }]);
    const { Octokit } = await import('octokit');
    const octokit = new Octokit({ baseUrl: replay.url, auth: TOKEN, retry: { enabled: false }, throttle: { enabled: false }, log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
    const err = await octokit.rest.repos.getBranchProtection({ owner: 'octokit-fixture-org', repo: 'branch-protection', branch: 'main' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { status?: number }).status).toBe(404);
    expect((err as { response?: { data?: { message?: string } } }).response?.data?.message).toBe('Branch not protected');
    const failure = toTemporalFailure(err, { action: 'reading the protection of main', resource: 'branch main of octokit-fixture-org/branch-protection', permission: 'Administration: read' }, [TOKEN]) as ApplicationFailure;
    expect(failure.type).toBe(FailureType.ForgeNotFound);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^branch main of octokit-fixture-org\/branch-protection was not found .*"Administration: read"/);
  });
});

describe('recorded 422 Validation Failed (errors)', () => {
  const invalid = recorded('errors', 'post', '/labels');

  it('is a 422 whose errors[] entry has resource/code/field and no message', () => {
    expect(invalid.status).toBe(422);
    expect(invalid.response).toMatchObject({ message: 'Validation Failed', errors: [{ resource: 'Label', code: 'invalid', field: 'color' }] });
  });

  it('served for opening a PR, is a non-retryable InvalidInput that says why, without trying to recover an existing PR', async () => {
    // The recorded 422 answer, served where the forge opens a PR (the fixtures record no PR 422).
    replay.serve([{ method: 'POST', path: '/repos/octokit-fixture-org/errors/pulls', answer: fromRecording(invalid) }]);
    const failure = await failureOf(
      forge.ensurePr({ taskId: 'fixture-task', repository: 'octokit-fixture-org/errors', base: 'main', branch: 'swarm/fixture-task', title: 'Fixture task', body: 'replayed' }),
    );
    expect(failure.type).toBe(FailureType.InvalidInput);
    expect(failure.nonRetryable).toBe(true);
    // errors[] had no message: the field and code are what the agent/person gets.
    expect(failure.message).toBe('GitHub refused to open a PR for swarm/fixture-task into main in octokit-fixture-org/errors: color invalid');
    // Not "already exists": no lookup of an existing PR (head=<owner>:<branch>) followed.
    expect(replay.seen.map((s) => `${s.method} ${s.url.split('?')[0]}`)).toEqual(['POST /repos/octokit-fixture-org/errors/pulls']);
  });
});
