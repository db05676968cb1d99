// Anthropic Messages API (streaming SSE and plain JSON), as Claude Code calls it with ANTHROPIC_BASE_URL.
import type { ServerResponse } from 'node:http';
import { list, openSse, retryAfter, sendJson, textOf, type Inspection, type Protocol, type ScriptedError, type Turn } from './types.ts';

type Block = Record<string, unknown>;
interface Message { role: string; content: string | Block[] }

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function event(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

/** Claude Code's `--json-schema` offers this tool (its input_schema is the schema); the model answers by calling it. */
const STRUCTURED_OUTPUT_TOOL = 'StructuredOutput';

function block(turn: Turn): Block {
  if (turn.tool) return { type: 'tool_use', id: `toolu_${turn.n}`, name: 'Bash', input: { command: turn.tool.command, description: 'Run a command' } };
  if (turn.structured !== undefined) return { type: 'tool_use', id: `toolu_${turn.n}`, name: STRUCTURED_OUTPUT_TOOL, input: turn.structured };
  return { type: 'text', text: turn.text ?? '' };
}

function message(turn: Turn, content: Block[], outputTokens: number): Block {
  return {
    id: `msg_${turn.n}`,
    type: 'message',
    role: 'assistant',
    model: turn.model,
    content,
    stop_reason: content.length === 0 ? null : content[0]?.type === 'tool_use' ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: turn.usage.input, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

/** Rough count, deterministic: a quarter of the request's JSON length. */
const countOf = (body: unknown): number => Math.ceil(JSON.stringify(body ?? {}).length / 4);

export const anthropic: Protocol = {
  name: 'anthropic',
  owns: (path) => path.startsWith('/v1/messages'),

  inspect(path, body): Inspection {
    const messages = list<Message>(body.messages);
    const userTexts: string[] = [];
    const toolOutputs: string[] = [];
    for (const m of messages.filter((m) => m.role === 'user')) {
      if (typeof m.content === 'string') userTexts.push(m.content);
      else for (const b of m.content) {
        if (b.type === 'text') userTexts.push(String(b.text));
        if (b.type === 'tool_result') toolOutputs.push(textOf(b.content));
      }
    }
    // The agent loop declares its tools; title generation, quota checks and counts do not.
    const main = path === '/v1/messages' && list(body.tools).length > 0;
    return { main, stream: body.stream === true, model: typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5', userTexts, toolOutputs };
  },

  answerSide(res, path, body, seen, usage) {
    if (path.endsWith('/count_tokens')) {
      sendJson(res, 200, { input_tokens: countOf(body) });
      return false;
    }
    this.answerTurn(res, { n: 0, model: seen.model, usage, text: 'ok' }, seen.stream);
    return true;
  },

  openStream: openSse,

  answerTurn(res, turn, stream) {
    const content = block(turn);
    if (!stream) return sendJson(res, 200, message(turn, [content], turn.usage.output));
    openSse(res);
    // Real streams report input tokens up front and the output total in message_delta.
    event(res, 'message_start', { message: message(turn, [], 0) });
    const toolUse = content.type === 'tool_use';
    if (toolUse) {
      event(res, 'content_block_start', { index: 0, content_block: { ...content, input: {} } });
      event(res, 'content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(content.input) } });
    } else {
      event(res, 'content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      event(res, 'content_block_delta', { index: 0, delta: { type: 'text_delta', text: content.text } });
    }
    event(res, 'content_block_stop', { index: 0 });
    event(res, 'message_delta', { delta: { stop_reason: toolUse ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: turn.usage.output } });
    event(res, 'message_stop', {});
    res.end();
  },

  answerError(res, error: ScriptedError) {
    const body = { type: 'error', error: { type: ERROR_TYPES[error.status] ?? 'api_error', message: error.message ?? `scripted ${error.status}` }, request_id: 'req_scripted' };
    if (res.headersSent) {
      event(res, 'error', { error: body.error });
      return void res.end();
    }
    sendJson(res, error.status, body, { 'request-id': 'req_scripted', ...retryAfter(error) });
  },
};
