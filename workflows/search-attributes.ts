// The project's search attributes: defined once, registered by the stack at start, upserted by
// workflows, queried by the CLI. Values are visible to anyone with namespace access: no secrets.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SwarmStatus = defineSearchAttributeKey('SwarmStatus', SearchAttributeType.KEYWORD);
export const SwarmStep = defineSearchAttributeKey('SwarmStep', SearchAttributeType.KEYWORD);
export const SwarmAgent = defineSearchAttributeKey('SwarmAgent', SearchAttributeType.KEYWORD);
export const SwarmRepo = defineSearchAttributeKey('SwarmRepo', SearchAttributeType.KEYWORD);
export const SwarmAttempts = defineSearchAttributeKey('SwarmAttempts', SearchAttributeType.INT);
export const SwarmPrNumber = defineSearchAttributeKey('SwarmPrNumber', SearchAttributeType.INT);
/** Why the task ended, or why it waits for a human: text, so the Web UI's list can search it. */
export const SwarmReason = defineSearchAttributeKey('SwarmReason', SearchAttributeType.TEXT);

export const SEARCH_ATTRIBUTES = [SwarmStatus, SwarmStep, SwarmAgent, SwarmRepo, SwarmAttempts, SwarmPrNumber, SwarmReason];

/** `Keyword` etc.: a key's type as the Temporal CLI spells it (`--search-attribute`, `operator search-attribute create --type`). */
export function cliTypeOf(key: (typeof SEARCH_ATTRIBUTES)[number]): string {
  const names: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', TEXT: 'Text', BOOL: 'Bool', DOUBLE: 'Double', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };
  return names[key.type] ?? key.type;
}
