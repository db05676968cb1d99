// A scripted stand-in for the three model APIs the agent CLIs call (OpenAI Responses for Codex,
// Anthropic Messages for Claude Code, Gemini for Gemini CLI), on one local HTTP server. Each test
// scripts what the model says; the main agent loop's requests consume the script in order, side
// requests (token counts, titles, next-speaker checks) get a sensible answer without consuming it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGunzip, createInflate, createBrotliDecompress } from 'node:zlib';
import type { Readable } from 'node:stream';
import { anthropic } from './anthropic.ts';
import { gemini } from './gemini.ts';
import { openai } from './openai.ts';
import { sendJson, type Body, type Protocol, type RecordedRequest, type ScriptStep, type Usage } from './types.ts';

export type { RecordedRequest, ScriptStep, ScriptedError } from './types.ts';

export interface ModelServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  /** Replaces the queue. Each main-loop request consumes one step; an empty queue answers the text "done". */
  script(steps: ScriptStep[]): void;
  /** Releases the stalled streams (or, if none is stalled yet, the next stall). */
  release(): void;
  requests: RecordedRequest[];
  /** Requests no protocol owns, as "METHOD /path", so a test can see what a CLI asked for in vain. */
  unmatched: string[];
  /** Tokens the server reported in usage fields, summed over scripted (main-loop) answers. */
  reported: { inputTokens: number; outputTokens: number };
  /** The same for side generations (not counts), which always report 7 input and 3 output tokens each. */
  sideReported: { inputTokens: number; outputTokens: number };
  waitFor(predicate: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const PROTOCOLS: Protocol[] = [anthropic, gemini, openai];
const SIDE_USAGE: Usage = { input: 7, output: 3 };

/** The JSON body; anything else (or nothing) comes back as `{ raw }` so protocols can still read it. */
async function readBody(req: IncomingMessage): Promise<Body> {
  const encoding = String(req.headers['content-encoding'] ?? '');
  const decoder = encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
  const stream: Readable = decoder ? req.pipe(decoder) : req;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Body;
  } catch {
    // Not JSON.
  }
  return { raw: text };
}

export async function startModelServer(): Promise<ModelServer> {
  let queue: ScriptStep[] = [];
  let turns = 0;
  let releaseCredit = 0;
  const stalled = new Set<() => void>();
  const watchers = new Set<(r: RecordedRequest) => void>();
  const requests: RecordedRequest[] = [];
  const unmatched: string[] = [];
  const reported = { inputTokens: 0, outputTokens: 0 };
  const sideReported = { inputTokens: 0, outputTokens: 0 };

  /** Resolves on release() or when the client hangs up (a killed CLI must not pin the server). */
  function stall(res: ServerResponse): Promise<void> {
    if (releaseCredit > 0) {
      releaseCredit--;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        stalled.delete(done);
        resolve();
      };
      stalled.add(done);
      res.on('close', done);
    });
  }

  /** The step a main-loop request gets: a repeating step holds the queue until its `until` is met. */
  function nextStep(request: RecordedRequest): ScriptStep {
    const head = queue[0];
    if (head && 'repeat' in head) {
      if (!head.until(request)) return head.repeat;
      queue.shift();
    }
    return queue.shift() ?? { text: 'done' };
  }

  async function play(protocol: Protocol, res: ServerResponse, step: ScriptStep, stream: boolean, model: string): Promise<void> {
    if ('repeat' in step) return play(protocol, res, step.repeat, stream, model);
    if ('stall' in step) {
      if (step.headers !== false) protocol.openStream(res);
      await stall(res);
      if (res.destroyed) return;
      return play(protocol, res, step.then, stream, model);
    }
    if ('error' in step) return protocol.answerError(res, step.error);
    if ('drop' in step) {
      if (step.drop === 'hold') return new Promise((resolve) => res.on('close', resolve));
      if (step.drop === 'cut') protocol.openStream(res);
      // No response, no error event: the socket just goes away (a reset, or a stream that dies).
      return void res.socket?.resetAndDestroy();
    }
    const n = ++turns;
    const usage = { input: 100 + 10 * n, output: 20 + n };
    reported.inputTokens += usage.input;
    reported.outputTokens += usage.output;
    protocol.answerTurn(res, { n, model, usage, ...step }, stream);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const body = await readBody(req);
    const protocol = PROTOCOLS.find((p) => p.owns(path));
    if (!protocol) {
      unmatched.push(`${req.method} ${path}`);
      return sendJson(res, 404, { error: { message: `no route ${path}` } });
    }
    const seen = protocol.inspect(path, body);
    const record: RecordedRequest = { protocol: protocol.name, path, headers: req.headers, body, at: Date.now(), userTexts: seen.userTexts, toolOutputs: seen.toolOutputs, scripted: seen.main };
    requests.push(record);
    for (const watch of watchers) watch(record);
    if (!seen.main) {
      if (!protocol.answerSide(res, path, body, seen, SIDE_USAGE)) return;
      sideReported.inputTokens += SIDE_USAGE.input;
      sideReported.outputTokens += SIDE_USAGE.output;
      return;
    }
    await play(protocol, res, nextStep(record), seen.stream, seen.model);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(error) } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    unmatched,
    reported,
    sideReported,
    script(steps) {
      queue = [...steps];
    },
    release() {
      if (stalled.size === 0) releaseCredit++;
      for (const done of [...stalled]) done();
    },
    waitFor(predicate, timeoutMs = 30_000) {
      const found = requests.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watch);
          reject(new Error(`no matching model request within ${timeoutMs} ms (saw ${requests.length}: ${requests.map((r) => r.path).join(', ')})`));
        }, timeoutMs);
        const watch = (r: RecordedRequest) => {
          if (!predicate(r)) return;
          clearTimeout(timer);
          watchers.delete(watch);
          resolve(r);
        };
        watchers.add(watch);
      });
    },
    async close() {
      for (const done of [...stalled]) done();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
