// Types shared by the model stand-in's server and its three protocol modules.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

export type ScriptStep =
  /** The model asks for one shell command: Codex exec_command{cmd}, Claude Bash{command}, Gemini run_shell_command{command}. */
  | { tool: { command: string } }
  /** A final assistant message; ends the turn. */
  | { text: string }
  /**
   * A final reply in the structured form the CLI asked for: Codex (Responses `text.format`
   * json_schema) and Gemini get it as the message's JSON text, Claude Code (whose `--json-schema`
   * offers a StructuredOutput tool) as that tool's call.
   */
  | { structured: unknown }
  /** An HTTP error in the provider's own error JSON, with Retry-After when given. */
  | { error: ScriptedError }
  /**
   * Sends the stream's headers and nothing else until `release()`, then answers `then`. With
   * `headers: false` it sends nothing at all meanwhile: a provider slow to answer, say, with an error status.
   */
  | { stall: true; headers?: false; then: ScriptStep }
  /**
   * A network fault: `reset` closes the connection before any response, `cut` after the stream's
   * headers, `hold` sends nothing at all until the client gives up.
   */
  | { drop: 'reset' | 'cut' | 'hold' }
  /**
   * A model stuck in a loop: every main-loop request gets `repeat` until one satisfies `until` (it
   * carries what should stop the loop); that one gets the next step.
   */
  | { repeat: ScriptStep; until: (request: RecordedRequest) => boolean };

export interface ScriptedError {
  status: number;
  retryAfterSeconds?: number;
  message?: string;
}

/** A request's JSON body, read loosely: each protocol module picks out the fields it knows. */
export type Body = Record<string, unknown>;

/** The value if it is an array, else none: request fields are the CLI's, not ours to trust. */
export const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

export type ProtocolName = 'openai' | 'anthropic' | 'gemini';

export interface RecordedRequest {
  protocol: ProtocolName;
  path: string;
  headers: IncomingHttpHeaders;
  body: Body;
  at: number;
  /** Every user-role text in the request, in order (the CLIs add their own context messages too). */
  userTexts: string[];
  /** Tool outputs the CLI sent back (function_call_output / tool_result / functionResponse). */
  toolOutputs: string[];
  /** Whether it consumed a script step: only the main agent loop does, side requests never. */
  scripted: boolean;
}

export interface Usage {
  input: number;
  output: number;
}

/** One scripted model response that is not an error. */
export interface Turn {
  /** 1-based count of turns answered, for ids that stay unique across requests. */
  n: number;
  model: string;
  usage: Usage;
  tool?: { command: string };
  text?: string;
  structured?: unknown;
}

/** What a protocol module reads out of a request. */
export interface Inspection {
  main: boolean;
  stream: boolean;
  model: string;
  userTexts: string[];
  toolOutputs: string[];
}

export interface Protocol {
  name: ProtocolName;
  owns(path: string): boolean;
  inspect(path: string, body: Body): Inspection;
  /** Answers what the script does not drive: token counts, side tasks, model lists. True when the answer reported `usage`. */
  answerSide(res: ServerResponse, path: string, body: Body, seen: Inspection, usage: Usage): boolean;
  /** Sends a stream's status and headers only (for stalls). */
  openStream(res: ServerResponse): void;
  answerTurn(res: ServerResponse, turn: Turn, stream: boolean): void;
  /** The provider's error JSON, or its in-stream error event when the headers are already out. */
  answerError(res: ServerResponse, error: ScriptedError): void;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function openSse(res: ServerResponse): void {
  if (res.headersSent) return;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  // Headers go out now, so a stalled stream looks like a slow model, not a dead server.
  res.flushHeaders();
}

export function retryAfter(error: ScriptedError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
}

/** A final message's text: a structured reply is its JSON (what a json_schema response format asks for). */
export const replyText = (turn: Turn): string => (turn.structured === undefined ? (turn.text ?? '') : JSON.stringify(turn.structured));

/** Flattens a content value that is a string or a list of `{text}` parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'object' && part && 'text' in part ? String((part as { text: unknown }).text) : '')).join('');
  return content === undefined ? '' : JSON.stringify(content);
}
