// Gemini API (v1beta generateContent, streamGenerateContent?alt=sse, countTokens), as Gemini CLI calls it
// with GOOGLE_GEMINI_BASE_URL.
import { list, openSse, replyText, retryAfter, sendJson, type Inspection, type Protocol, type ScriptedError, type Turn } from './types.ts';

interface Part { text?: string; functionResponse?: { response?: unknown } }
interface Content { role?: string; parts?: Part[] }
type Schema = { type?: string; properties?: Record<string, Schema>; enum?: unknown[]; minimum?: number };

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** `/v1beta/models/<model>:<method>` */
function route(path: string): { model: string; method: string } {
  const match = /\/models\/([^/:]+):(\w+)$/.exec(path);
  return { model: match?.[1] ?? 'gemini-2.5-flash', method: match?.[2] ?? '' };
}

/**
 * The smallest value a JSON schema allows, taking the first enum value. Side tasks (next-speaker
 * check, loop detection, routing) ask for JSON; the first enum choice of the next-speaker check is
 * "user", which ends the turn rather than looping. Numbers are 1 unless a minimum says otherwise: the
 * router's complexity score must be at least 1 (and 1 routes to the flash model).
 */
function sample(schema: Schema | undefined): unknown {
  if (schema?.enum?.length) return schema.enum[0];
  switch (schema?.type?.toLowerCase()) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, sample(value)]));
    case 'array':
      return [];
    case 'number':
    case 'integer':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      return '';
  }
}

function chunk(turn: Turn, parts: Part[] | Record<string, unknown>[]): Record<string, unknown> {
  const { input, output } = turn.usage;
  return {
    candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output },
    modelVersion: turn.model,
    responseId: `resp_${turn.n}`,
  };
}

function parts(turn: Turn): Record<string, unknown>[] {
  if (turn.tool) return [{ functionCall: { name: 'run_shell_command', args: { command: turn.tool.command, description: 'Run a command' } } }];
  return [{ text: replyText(turn) }];
}

export const gemini: Protocol = {
  name: 'gemini',
  owns: (path) => path.startsWith('/v1beta/') || path.startsWith('/v1/models/'),

  inspect(path, body): Inspection {
    const contents = list<Content>(body.contents);
    const userParts = contents.filter((c) => c.role === 'user').flatMap((c) => c.parts ?? []);
    const userTexts = userParts.filter((p) => typeof p.text === 'string').map((p) => String(p.text));
    const toolOutputs = userParts.filter((p) => p.functionResponse).map((p) => JSON.stringify(p.functionResponse?.response ?? {}));
    const { model, method } = route(path);
    const tools = list<{ functionDeclarations?: unknown[] }>(body.tools);
    // The agent loop declares functions; next-speaker checks, routing and summaries do not.
    const main = /generateContent$/i.test(method) && tools.some((t) => (t.functionDeclarations?.length ?? 0) > 0);
    return { main, stream: method === 'streamGenerateContent', model, userTexts, toolOutputs };
  },

  answerSide(res, path, body, seen, usage) {
    const { method } = route(path);
    if (method === 'countTokens') {
      sendJson(res, 200, { totalTokens: Math.ceil(JSON.stringify(body).length / 4) });
      return false;
    }
    if (!/generateContent$/i.test(method)) {
      sendJson(res, 404, { error: { code: 404, message: `no route ${path}`, status: 'NOT_FOUND' } });
      return false;
    }
    const config = (body.generationConfig ?? {}) as { responseMimeType?: string; responseJsonSchema?: Schema; responseSchema?: Schema };
    const wantsJson = config.responseMimeType === 'application/json';
    const text = wantsJson ? JSON.stringify(sample(config.responseJsonSchema ?? config.responseSchema)) : 'ok';
    this.answerTurn(res, { n: 0, model: seen.model, usage, text }, seen.stream);
    return true;
  },

  openStream: openSse,

  answerTurn(res, turn, stream) {
    const body = chunk(turn, parts(turn));
    if (!stream) return sendJson(res, 200, body);
    openSse(res);
    res.write(`data: ${JSON.stringify(body)}\r\n\r\n`);
    res.end();
  },

  answerError(res, error: ScriptedError) {
    const details = error.retryAfterSeconds === undefined ? [] : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${error.retryAfterSeconds}s` }];
    const body = { error: { code: error.status, message: error.message ?? `scripted ${error.status}`, status: STATUS[error.status] ?? 'UNKNOWN', details } };
    if (res.headersSent) {
      res.write(`data: ${JSON.stringify(body)}\r\n\r\n`);
      return void res.end();
    }
    sendJson(res, error.status, body, retryAfter(error));
  },
};
