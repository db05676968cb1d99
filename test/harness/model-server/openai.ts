// OpenAI Responses API over SSE, as Codex's custom providers with `wire_api = "responses"` call it.
import type { ServerResponse } from 'node:http';
import { list, openSse, replyText, retryAfter, sendJson, textOf, type Inspection, type Protocol, type ScriptedError, type Turn } from './types.ts';

type Item = Record<string, unknown>;

const ERROR_CODES: Record<number, { type: string; code: string | null }> = {
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
  500: { type: 'server_error', code: null },
};

function event(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

function outputItem(turn: Turn): Item {
  if (turn.tool) {
    return { type: 'function_call', id: `fc_${turn.n}`, call_id: `call_${turn.n}`, name: 'exec_command', arguments: JSON.stringify({ cmd: turn.tool.command }), status: 'completed' };
  }
  return { type: 'message', id: `msg_${turn.n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: replyText(turn), annotations: [] }] };
}

function response(turn: Turn, output: Item[]): Item {
  const { input, output: out } = turn.usage;
  return {
    id: `resp_${turn.n}`,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    model: turn.model,
    status: 'completed',
    output,
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: out, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + out },
  };
}

export const openai: Protocol = {
  name: 'openai',
  owns: (path) => path.startsWith('/v1/') && !path.startsWith('/v1/messages'),

  inspect(path, body): Inspection {
    const input = list<Item>(body.input);
    const userTexts = input.filter((item) => item.role === 'user').map((item) => textOf(item.content));
    const toolOutputs = input.filter((item) => item.type === 'function_call_output' || item.type === 'custom_tool_call_output').map((item) => textOf(item.output));
    // The agent loop always declares its tools; anything else (compaction, model lists) is a side request.
    const main = path.endsWith('/responses') && list(body.tools).length > 0;
    return { main, stream: body.stream !== false, model: typeof body.model === 'string' ? body.model : 'fake-model', userTexts, toolOutputs };
  },

  answerSide(res, path, body, seen, usage) {
    if (path.endsWith('/models')) {
      sendJson(res, 200, { object: 'list', data: [], models: [] });
      return false;
    }
    if (!path.endsWith('/responses')) {
      sendJson(res, 404, { error: { message: `no route ${path}`, type: 'invalid_request_error', code: null } });
      return false;
    }
    this.answerTurn(res, { n: 0, model: seen.model, usage, text: 'ok' }, seen.stream);
    return true;
  },

  openStream: openSse,

  answerTurn(res, turn, stream) {
    const item = outputItem(turn);
    if (!stream) return sendJson(res, 200, response(turn, [item]));
    openSse(res);
    event(res, 'response.created', { response: { ...response(turn, []), status: 'in_progress', usage: null } });
    event(res, 'response.output_item.added', { output_index: 0, item: { ...item, ...(turn.tool ? { arguments: '' } : { content: [] }), status: 'in_progress' } });
    if (turn.tool) {
      event(res, 'response.function_call_arguments.delta', { item_id: item.id, output_index: 0, delta: item.arguments });
      event(res, 'response.function_call_arguments.done', { item_id: item.id, output_index: 0, arguments: item.arguments });
    } else {
      event(res, 'response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: replyText(turn) });
      event(res, 'response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text: replyText(turn) });
    }
    event(res, 'response.output_item.done', { output_index: 0, item });
    event(res, 'response.completed', { response: response(turn, [item]) });
    res.end();
  },

  answerError(res, error: ScriptedError) {
    const known = ERROR_CODES[error.status] ?? { type: 'server_error', code: null };
    const message = error.message ?? `scripted ${error.status}`;
    if (res.headersSent) {
      event(res, 'response.failed', { response: { id: 'resp_failed', object: 'response', status: 'failed', error: { code: known.code ?? 'server_error', message }, usage: null } });
      return void res.end();
    }
    sendJson(res, error.status, { error: { message, type: known.type, param: null, code: known.code } }, retryAfter(error));
  },
};
