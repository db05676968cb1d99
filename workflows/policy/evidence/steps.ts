// The three CLIs' JSON events as one sequence of steps: a tool call with its input and result, or
// the model's text. The transcript reading and the stuck detector's observations start from it.
//   Codex `exec --json`         item.completed: command_execution{command, aggregated_output,
//                               exit_code}, mcp_tool_call, web_search, file_change, agent_message, error
//   Claude Code `stream-json`   assistant message content: text / tool_use{id, name, input}; the
//                               next user message: tool_result{tool_use_id, content, is_error}
//   Gemini `stream-json`        tool_use{tool_name, tool_id, parameters}, tool_result{tool_id,
//                               status, output, error}, message{role: assistant, content, delta}
export type AgentCli = 'codex' | 'claude' | 'gemini';

export type Step =
  | { kind: 'tool'; name: string; input: Record<string, unknown>; ok: boolean; output: string; exitCode?: number }
  | { kind: 'text'; text: string };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** A tool result's content: a string, or Anthropic's list of text blocks. */
const textOf = (v: unknown): string => (Array.isArray(v) ? v.map((b) => str(obj(b).text)).join('\n') : str(v));

export function stepsOf(cli: AgentCli, events: unknown[]): Step[] {
  switch (cli) {
    case 'codex':
      return codexSteps(events.map(obj));
    case 'claude':
      return claudeSteps(events.map(obj));
    case 'gemini':
      return geminiSteps(events.map(obj));
  }
}

function codexSteps(events: Json[]): Step[] {
  const steps: Step[] = [];
  for (const e of events) {
    if (e.type !== 'item.completed') continue;
    const item = obj(e.item);
    if (item.type === 'agent_message') steps.push({ kind: 'text', text: str(item.text) });
    else if (item.type === 'command_execution') {
      const exitCode = typeof item.exit_code === 'number' ? item.exit_code : undefined;
      steps.push({ kind: 'tool', name: 'shell', input: { command: unwrapShell(str(item.command)) }, ok: exitCode === 0, output: str(item.aggregated_output), exitCode });
    } else if (item.type === 'mcp_tool_call') {
      steps.push({ kind: 'tool', name: `${str(item.server)}.${str(item.tool)}`, input: obj(item.arguments), ok: !item.error, output: textOf(obj(item.result).content) || str(obj(item.error).message) });
    } else if (item.type === 'error') steps.push({ kind: 'text', text: str(item.message) });
  }
  return steps;
}

/** Codex runs commands as `/bin/bash -lc '<command>'`: the command is what the model wrote. */
const unwrapShell = (command: string) => /^\S*(?:ba|z)?sh -l?c '(.*)'$/s.exec(command)?.[1]?.replace(/'\\''/g, "'") ?? command;

function claudeSteps(events: Json[]): Step[] {
  const steps: Step[] = [];
  const calls = new Map<string, { name: string; input: Json }>();
  for (const e of events) {
    const content = obj(e.message).content;
    if (!Array.isArray(content)) continue;
    for (const block of content.map(obj)) {
      if (e.type === 'assistant' && block.type === 'text') steps.push({ kind: 'text', text: str(block.text) });
      else if (e.type === 'assistant' && block.type === 'tool_use') calls.set(str(block.id), { name: str(block.name), input: obj(block.input) });
      else if (e.type === 'user' && block.type === 'tool_result') {
        const call = calls.get(str(block.tool_use_id)) ?? { name: 'unknown', input: {} };
        const output = textOf(block.content);
        // Bash's failed command: is_error, and the content starts "Exit code 1".
        const exit = /^Exit code (\d+)/.exec(output)?.[1];
        steps.push({ kind: 'tool', name: call.name, input: call.input, ok: block.is_error !== true, output, ...(exit ? { exitCode: Number(exit) } : {}) });
      }
    }
  }
  return steps;
}

function geminiSteps(events: Json[]): Step[] {
  const steps: Step[] = [];
  const calls = new Map<string, { name: string; input: Json }>();
  for (const e of events) {
    const last = steps.at(-1);
    if (e.type === 'message' && e.role === 'assistant') {
      // Streamed deltas of one reply join into one text, so a sentence split across chunks still reads.
      if (e.delta === true && last?.kind === 'text') last.text += str(e.content);
      else steps.push({ kind: 'text', text: str(e.content) });
    } else if (e.type === 'tool_use') calls.set(str(e.tool_id), { name: str(e.tool_name), input: obj(e.parameters) });
    else if (e.type === 'tool_result') {
      const call = calls.get(str(e.tool_id)) ?? { name: 'unknown', input: {} };
      const output = e.status === 'success' ? str(e.output) : str(obj(e.error).message) || str(e.output);
      // run_shell_command succeeds as a tool whatever the command did; its output ends "Exit Code: N".
      const exit = /^Exit Code: (\d+)/m.exec(output)?.[1];
      const ok = e.status === 'success' && (exit === undefined || exit === '0');
      steps.push({ kind: 'tool', name: call.name, input: call.input, ok, output, ...(exit ? { exitCode: Number(exit) } : {}) });
    }
  }
  return steps;
}
