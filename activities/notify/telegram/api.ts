// The few Bot API calls we make, over plain fetch (JSON bodies). The token is part of every URL, so
// no URL and no request is ever logged or put into an error message: errors carry the method and
// Telegram's own description only.

export interface InlineButton {
  text: string;
  callback_data: string;
}
export interface InlineKeyboard {
  inline_keyboard: InlineButton[][];
}
export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}
export interface TgMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: string };
  from?: TgUser;
  text?: string;
}
export interface TgCallbackQuery {
  id: string;
  from: TgUser;
  message?: TgMessage;
  data?: string;
}
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  callback_query?: TgCallbackQuery;
}

/** A call Telegram refused or could not answer. `retryAfterMs` for flood control (429). */
export class TelegramError extends Error {
  constructor(
    readonly method: string,
    /** Telegram's error_code, or 0 when no answer came (network, timeout). */
    readonly code: number,
    readonly description: string,
    readonly retryAfterMs?: number,
    /** No answer, but the request may have reached Telegram (a timeout, a connection cut mid-call). */
    readonly maybeDelivered = false,
  ) {
    super(`Telegram ${method}: ${code ? `${code} ` : ''}${description}`);
    this.name = 'TelegramError';
  }

  /** Worth trying again later: flood control, Telegram's side, or no answer at all. */
  get transient(): boolean {
    return this.code === 0 || this.code === 429 || this.code >= 500;
  }
}

const NEVER_SENT = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];

export interface BotApiOptions {
  apiRoot: string;
  token: string;
  /** How long one call may take before it counts as no answer (getUpdates adds its own timeout). */
  timeoutMs?: number;
}

export class BotApi {
  private readonly timeoutMs: number;
  constructor(private readonly options: BotApiOptions) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  async call<T>(method: string, params: Record<string, unknown>, { signal, extraTimeoutMs = 0 }: { signal?: AbortSignal; extraTimeoutMs?: number } = {}): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs + extraTimeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.options.apiRoot}/bot${this.options.token}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      // The cause may name the URL, which holds the token: only its kind is kept.
      if (signal?.aborted) throw err;
      const code = (err as Error & { cause?: { code?: string } }).cause?.code;
      // Refused or unresolved: the request never left. Anything else may have reached Telegram.
      const neverSent = code !== undefined && NEVER_SENT.includes(code);
      throw new TelegramError(method, 0, timeout.aborted ? 'no answer in time' : `unreachable (${code ?? (err as Error).name})`, undefined, !neverSent);
    }
    let body: { ok?: boolean; result?: T; error_code?: number; description?: string; parameters?: { retry_after?: number } };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new TelegramError(method, res.status >= 500 ? res.status : 502, `answered ${res.status} without JSON`);
    }
    if (body.ok === true) return body.result as T;
    const retryAfter = body.parameters?.retry_after;
    throw new TelegramError(method, body.error_code ?? res.status, body.description ?? `HTTP ${res.status}`, typeof retryAfter === 'number' ? retryAfter * 1000 : undefined);
  }
}

/** "message is not modified": the edit asked for what the message already shows, which is what we wanted. */
export const notModified = (err: unknown) => err instanceof TelegramError && err.code === 400 && /message is not modified/i.test(err.description);
