// The one place that reads an agent CLI's error into a failure kind, and turns what an adapter read
// from a run into its outcome. The CLIs word their errors differently, but all of them carry the
// provider's HTTP status or its words for it. A dropped connection is the provider's side too: it
// is waited out like a 5xx (server_error), never blamed on the agent.
import type { AgentFailure, AgentOutcome } from '../../../workflows/task/types.ts';

export interface AgentError {
  /** The provider's HTTP status, where the CLI reports it. */
  status?: number;
  message: string;
}

/**
 * What each CLI prints when the connection fails (seen against the model stand-in's resets, cut
 * streams and held responses): Codex 0.169 "stream disconnected before completion: error sending
 * request" / "…: Transport error: network error: …"; Claude 2.1.332 "API Error: Connection dropped
 * (ECONNRESET)", "Connection to the API was lost (ECONNRESET)", "Request timed out"; Gemini 0.61
 * "[API Error: exception TypeError: fetch failed sending request]" (also after a minute without
 * response headers) and "[API Error: terminated]" for a stream cut short. Through the sandbox's
 * egress proxy, Claude words a cut stream "The response could not be read (InvalidHTTPResponse)".
 */
const NETWORK = /stream disconnected|network error|response could not be read|InvalidHTTPResponse|error sending request|fetch failed|API Error: terminated|socket hang up|other side closed|connection (?:dropped|lost|reset|refused|closed|error)|\b(?:ECONNRESET|ECONNREFUSED|ECONNABORTED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR_\w+)\b|headers? timeout/i;

function classifyAgentError({ status, message }: AgentError): AgentFailure {
  const code = status ?? Number(/\b(401|403|408|429|5\d\d)\b/.exec(message)?.[1] ?? NaN);
  if (code === 429 || /rate.?limit|too many requests|quota|resource.?exhausted|usage limit/i.test(message)) return 'rate_limited';
  if (code === 401 || code === 403 || /unauthori[sz]ed|authenticat|api key|invalid.*key|permission denied/i.test(message)) return 'auth';
  // Codex 0.169 words a 5xx as "We're currently experiencing high demand, which may cause temporary errors.", with no status.
  if ((code >= 500 && code <= 599) || code === 408 || /overloaded|internal server error|service unavailable|bad gateway|timed? ?out|high demand|temporary errors?/i.test(message)) return 'server_error';
  if (NETWORK.test(message)) return 'server_error';
  return 'error';
}

/** "retry after 30s", "try again in 1.5s", "Retry-After: 20": the provider's wait, when it said one. */
function retryAfterMs(message: string): number | undefined {
  const match = /(?:retry[- ]after|try again in)\D{0,3}(\d+(?:\.\d+)?)\s*(ms|s|seconds?|m|minutes?)?/i.exec(message);
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit.startsWith('m') ? n * 60_000 : n * 1_000);
}

/** Long CLI errors (stack traces, whole response bodies) shortened for the task's state. */
const shorten = (text: string, max = 500) => (text.length > max ? `${text.slice(0, max)}…` : text);

export interface RunReading extends Pick<AgentOutcome, 'sessionId' | 'usage' | 'cost'> {
  failed: boolean;
  /** The final message, or the error when the run failed. */
  message?: string;
  /** The provider's HTTP status, where the CLI reports it. */
  status?: number;
}

/** A run's outcome: its message shortened and, when it failed, the failure kind and the provider's wait. */
export function runOutcome({ failed, message, status, sessionId, usage, cost }: RunReading): AgentOutcome {
  const outcome: AgentOutcome = { status: failed ? 'failed' : 'finished', sessionId, usage, cost };
  if (message) outcome.message = shorten(message);
  if (failed) {
    outcome.failure = classifyAgentError({ status, message: message ?? '' });
    const wait = retryAfterMs(message ?? '');
    if (wait !== undefined) outcome.retryAfterMs = wait;
  }
  return outcome;
}
