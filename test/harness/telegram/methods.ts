// The Bot API methods the stand-in serves, with each method's documented parameters
// (core.telegram.org/bots/api, Bot API 8.x): name, type, and whether it is required. A request is
// checked against this table before anything else happens, so a parameter we misspell, mistype or
// forget is a 400, as close to Telegram's own words as Telegram has them.

export type ParamType =
  | 'Integer'
  | 'String'
  | 'Boolean'
  | 'Integer or String'
  | 'InlineKeyboardMarkup'
  | 'ReplyMarkup'
  | 'Array of String'
  | 'Array of MessageEntity'
  | 'LinkPreviewOptions'
  | 'ReplyParameters'
  | 'InputFile or String';

export interface ParamSpec {
  type: ParamType;
  required?: boolean;
}

const replyMarkup: ParamSpec = { type: 'ReplyMarkup' };

export const METHODS: Record<string, Record<string, ParamSpec>> = {
  getMe: {},
  sendMessage: {
    business_connection_id: { type: 'String' },
    chat_id: { type: 'Integer or String', required: true },
    message_thread_id: { type: 'Integer' },
    text: { type: 'String', required: true },
    parse_mode: { type: 'String' },
    entities: { type: 'Array of MessageEntity' },
    link_preview_options: { type: 'LinkPreviewOptions' },
    disable_notification: { type: 'Boolean' },
    protect_content: { type: 'Boolean' },
    allow_paid_broadcast: { type: 'Boolean' },
    message_effect_id: { type: 'String' },
    reply_parameters: { type: 'ReplyParameters' },
    reply_markup: replyMarkup,
  },
  editMessageText: {
    business_connection_id: { type: 'String' },
    chat_id: { type: 'Integer or String' },
    message_id: { type: 'Integer' },
    inline_message_id: { type: 'String' },
    text: { type: 'String', required: true },
    parse_mode: { type: 'String' },
    entities: { type: 'Array of MessageEntity' },
    link_preview_options: { type: 'LinkPreviewOptions' },
    reply_markup: { type: 'InlineKeyboardMarkup' },
  },
  answerCallbackQuery: {
    callback_query_id: { type: 'String', required: true },
    text: { type: 'String' },
    show_alert: { type: 'Boolean' },
    url: { type: 'String' },
    cache_time: { type: 'Integer' },
  },
  getUpdates: {
    offset: { type: 'Integer' },
    limit: { type: 'Integer' },
    timeout: { type: 'Integer' },
    allowed_updates: { type: 'Array of String' },
  },
  setWebhook: {
    url: { type: 'String', required: true },
    certificate: { type: 'InputFile or String' },
    ip_address: { type: 'String' },
    max_connections: { type: 'Integer' },
    allowed_updates: { type: 'Array of String' },
    drop_pending_updates: { type: 'Boolean' },
    secret_token: { type: 'String' },
  },
  deleteWebhook: {
    drop_pending_updates: { type: 'Boolean' },
  },
};

/** The update types getUpdates' allowed_updates may name. */
export const UPDATE_TYPES = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'business_connection',
  'business_message',
  'edited_business_message',
  'deleted_business_messages',
  'message_reaction',
  'message_reaction_count',
  'inline_query',
  'chosen_inline_result',
  'callback_query',
  'shipping_query',
  'pre_checkout_query',
  'purchased_paid_media',
  'poll',
  'poll_answer',
  'my_chat_member',
  'chat_member',
  'chat_join_request',
  'chat_boost',
  'removed_chat_boost',
];

/** A parameter's value as it arrived (JSON keeps types; a form or query string gives text) coerced to its type, or the reason it cannot be. */
export function coerce(name: string, type: ParamType, value: unknown): { value: unknown } | { error: string } {
  const bad = { error: `Bad Request: field "${name}" must be of type ${type}` };
  const fromText = (v: unknown) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  };
  switch (type) {
    case 'Integer': {
      const v = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      return Number.isSafeInteger(v) ? { value: v } : bad;
    }
    case 'String':
    case 'InputFile or String':
      return typeof value === 'string' ? { value } : typeof value === 'number' ? { value: String(value) } : bad;
    case 'Boolean': {
      const v = value === 'true' ? true : value === 'false' ? false : value;
      return typeof v === 'boolean' ? { value: v } : bad;
    }
    case 'Integer or String':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return { value };
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return { value: Number(value) };
      if (typeof value === 'string' && /^@[A-Za-z0-9_]{5,}$/.test(value)) return { value };
      return { error: 'Bad Request: chat not found' };
    case 'Array of String': {
      const v = fromText(value);
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? { value: v } : { error: `Bad Request: can't parse ${name} JSON array` };
    }
    case 'Array of MessageEntity': {
      const v = fromText(value);
      return Array.isArray(v) ? { value: v } : { error: `Bad Request: can't parse entities JSON object` };
    }
    case 'InlineKeyboardMarkup':
    case 'ReplyMarkup':
    case 'LinkPreviewOptions':
    case 'ReplyParameters': {
      const v = fromText(value);
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? { value: v } : { error: `Bad Request: can't parse ${name === 'reply_markup' ? 'reply keyboard markup' : name} JSON object` };
    }
  }
}

/**
 * Why an inline keyboard is not one Telegram takes, or undefined: an array of rows of buttons,
 * each with a 1-64 character text... and exactly one action; callback_data 1-64 bytes.
 */
export function inlineKeyboardProblem(markup: Record<string, unknown>, inlineOnly: boolean): string | undefined {
  const keys = Object.keys(markup);
  if (!('inline_keyboard' in markup)) {
    if (inlineOnly) return "Bad Request: can't parse inline keyboard button: field \"inline_keyboard\" must be of type Array";
    // The other keyboards (ReplyKeyboardMarkup, ReplyKeyboardRemove, ForceReply) are not ours.
    return keys.some((k) => ['keyboard', 'remove_keyboard', 'force_reply'].includes(k)) ? undefined : "Bad Request: can't parse reply keyboard markup JSON object";
  }
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) return 'Bad Request: field "inline_keyboard" must be of type Array of Array of InlineKeyboardButton';
  if (rows.length > 100) return 'Bad Request: too many inline keyboard rows';
  const actions = ['url', 'callback_data', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat', 'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay'];
  for (const row of rows as unknown[][]) {
    if (row.length > 8) return 'Bad Request: too many inline keyboard buttons in a row';
    for (const button of row) {
      if (typeof button !== 'object' || button === null) return "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object";
      const b = button as Record<string, unknown>;
      if (typeof b.text !== 'string' || b.text === '') return 'Bad Request: inline keyboard button text must be non-empty';
      const given = Object.keys(b).filter((k) => actions.includes(k));
      const unknown = Object.keys(b).filter((k) => k !== 'text' && !actions.includes(k));
      if (unknown.length > 0) return `Bad Request: can't parse inline keyboard button: unknown field "${unknown[0]}"`;
      if (given.length !== 1) return "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard";
      if ('callback_data' in b) {
        const data = b.callback_data;
        if (typeof data !== 'string' || Buffer.byteLength(data, 'utf8') < 1 || Buffer.byteLength(data, 'utf8') > 64) return 'Bad Request: BUTTON_DATA_INVALID';
      }
    }
  }
  return undefined;
}

const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'tg-emoji', 'code', 'pre', 'blockquote']);

/**
 * The text a user sees from `parse_mode: HTML` text, or Telegram's "can't parse entities" reason:
 * only the supported tags, properly nested; `&` only as an entity (&lt; &gt; &amp; &quot; or numeric).
 */
export function parseHtml(text: string): { plain: string } | { error: string } {
  const stack: string[] = [];
  let plain = '';
  const bytes = (i: number) => Buffer.byteLength(text.slice(0, i), 'utf8');
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '<') {
      const end = text.indexOf('>', i);
      if (end < 0) return { error: `Bad Request: can't parse entities: Unclosed start tag at byte offset ${bytes(i)}` };
      const tag = text.slice(i + 1, end);
      const closing = tag.startsWith('/');
      const name = (closing ? tag.slice(1) : tag).split(/\s/)[0]!.toLowerCase();
      if (!HTML_TAGS.has(name)) return { error: `Bad Request: can't parse entities: Unsupported start tag "${name}" at byte offset ${bytes(i)}` };
      if (closing) {
        if (stack.pop() !== name) return { error: `Bad Request: can't parse entities: Unmatched end tag at byte offset ${bytes(i)}, expected "</${stack.at(-1) ?? ''}>", found "</${name}>"` };
      } else {
        if (name === 'a' && !/\shref="[^"]*"/.test(tag)) return { error: `Bad Request: can't parse entities: Tag "a" must have attribute "href" at byte offset ${bytes(i)}` };
        stack.push(name);
      }
      i = end + 1;
    } else if (c === '&') {
      const m = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);/.exec(text.slice(i));
      if (!m) return { error: `Bad Request: can't parse entities: Character '&' is reserved and must be escaped at byte offset ${bytes(i)}` };
      const e = m[1]!;
      plain += e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
      i += m[0].length;
    } else if (c === '>') {
      return { error: `Bad Request: can't parse entities: Character '>' is reserved and must be escaped at byte offset ${bytes(i)}` };
    } else {
      plain += c;
      i += 1;
    }
  }
  if (stack.length > 0) return { error: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { plain };
}
