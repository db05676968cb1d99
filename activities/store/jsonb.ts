// JSON for a Postgres jsonb column. jsonb refuses two things JSON can carry: the NUL character
// (`\u0000`) and a lone UTF-16 surrogate. Both reach us from outside (an agent's or a CI command's
// output, a model's reply), and a refused insert would be retried forever: the task would never
// get past the step that records it. Each becomes U+FFFD, the replacement character.
import { LONE_SURROGATE } from '../../workflows/policy/text.ts';

const UNSTORABLE = new RegExp(`\\0|${LONE_SURROGATE.source}`, 'gu');

export const jsonb = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? v.replace(UNSTORABLE, '\uFFFD') : v));
