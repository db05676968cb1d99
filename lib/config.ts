// One configuration for every process: a JSON file plus env overrides, validated by zod.
// Secrets (API keys, database passwords, tokens) come from env only and are redacted when shown.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { PROJECT_ROOT } from '../scripts/tools.mjs';
import { parseAuthority } from './authority.mjs';
import { PUBLIC_KEY_PATTERN } from '../workflows/policy/signatures.ts';
import { SENSITIVITIES } from '../workflows/context/notes.ts';

/** How agents are sandboxed (see host.sandbox). */
export const SANDBOX_MODES = ['required', 'preferred', 'off'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

const port = z.coerce.number().int().min(1).max(65535);
const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "30s", "10m" or "1d"');
// Env values are strings: "false" must not coerce to true.
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const queueName = z.string().regex(/^[a-zA-Z0-9._-]+$/, 'letters, digits, ".", "_" or "-"');

const agentName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'an agent name (slug)');
const route = z.union([agentName, z.strictObject({ concept: agentName, implement: agentName })]);
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an env var name');
const passEnv = z.array(envName).default([]);

const cliKind = z.enum(['codex', 'claude', 'gemini']);

/** One allow-list entry of a sandboxed agent's network: `host:port`, a host of `*.example.com` for its subdomains. */
export const Destination = z
  .string()
  .trim()
  .toLowerCase()
  .refine((d) => parseAuthority(d) !== undefined && !d.replace(/^\*\./, '').includes('*'), 'host:port, such as "registry.npmjs.org:443" or "*.pythonhosted.org:443"');
const destinations = z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(Destination).max(100));
/** How many prompt tokens this agent's business context may take; `context.tokens` when unset. */
const contextTokens = z.coerce.number().int().min(0).max(200_000).optional();

/** How a pinned CLI is run and which model endpoint it talks to: the same for an agent and a CLI reviewer. */
const cliSettings = {
  model: z.string().min(1),
  /** The worker's env var holding the key; the CLI's own name (OPENAI_API_KEY…) when unset. */
  apiKeyEnv: envName.optional(),
  /** The model API's base URL (a gateway, a local stand-in); the CLI's default when unset. */
  baseUrl: z.string().url().optional(),
  /** The CLI binary; the version pinned in package.json when unset. */
  binary: z.string().min(1).optional(),
  /** Extra flags, appended to the adapter's own. */
  args: z.array(z.string()).default([]),
  /** How often the CLI itself retries a failed model request before it gives up and swarmflow waits; the CLI's default when unset. */
  retries: z.coerce.number().int().min(0).max(20).optional(),
};

/** An agent: any command, or one of the pinned CLIs (see activities/agents/adapters). */
const AgentSchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !('kind' in v) ? { ...v, kind: 'command' } : v),
  z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('command'),
      command: z.array(z.string().min(1)).min(1),
      /** Env var names passed through to the agent on top of the fixed allow-list. */
      passEnv,
      contextTokens,
    }),
    z.strictObject({
      kind: cliKind,
      ...cliSettings,
      mode: z.enum(['headless', 'interactive']).default('headless'),
      passEnv,
      contextTokens,
    }),
  ]),
);

const reviewerName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a reviewer name (slug)');

/** A reviewer: any argv (`kind` may be left out), or one of the pinned CLIs run read-only (see activities/review). */
const ReviewerSchema = z.union([
  z.strictObject({
    kind: z.literal('command').optional(),
    name: reviewerName,
    /** Reads the diff on stdin and prints `{"findings": [...]}`. */
    command: z.array(z.string().min(1)).min(1),
    timeout: duration.default('10m'),
  }),
  z.strictObject({
    kind: cliKind,
    name: reviewerName,
    /** What it looks for: REVIEW_FOCUSES (the runbook's `edge-cases`, `security-scalability`, `correctness`) or free text. */
    focus: z.string().min(1).max(2_000),
    ...cliSettings,
    timeout: duration.default('10m'),
  }),
]);

/** An approver and the identities that prove it is them (see `approvers`). */
const ApproverSchema = z.strictObject({
  name: z.string().min(1).max(100).regex(/^[^\s,]+$/, 'a name without spaces or commas'),
  /** Signs this approver's CLI and client decisions: `swarm keys create <name>` prints it. */
  publicKey: z.string().regex(PUBLIC_KEY_PATTERN, 'an Ed25519 public key as `ed25519:<64 hex digits>`, as `swarm keys create` prints it').optional(),
  /** This approver's GitHub login: their APPROVED review at the PR's head approves. */
  github: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'a GitHub login').optional(),
  /** This approver's Telegram user id: their press of Approve or Reject decides. */
  telegram: z.coerce.number().int().positive().optional(),
});
export type Approver = z.infer<typeof ApproverSchema>;

/** A JSON value, or the text itself (zod then says what is wrong with it). */
function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

// `prefault({})` parses an absent section through its schema, so inner defaults apply.
export const ConfigSchema = z.strictObject({
  stateDir: z.string().min(1).default(join(PROJECT_ROOT, '.swarmflow', 'state')),
  temporal: z
    .strictObject({
      /** When set, connect there and start no dev server. */
      address: z.string().regex(/^[^\s:]+:\d+$/, 'host:port').optional(),
      namespace: z.string().min(1).default('default'),
      apiKey: z.string().min(1).optional(),
      tls: z
        .strictObject({
          enabled: bool.default(false),
          serverName: z.string().optional(),
          serverRootCaCertPath: z.string().optional(),
          clientCertPath: z.string().optional(),
          clientKeyPath: z.string().optional(),
        })
        .prefault({}),
      /** The Web UI the progress links point to; the embedded dev server's own when unset. */
      webUiUrl: z.string().url().refine((u) => !u.endsWith('/'), 'no trailing slash').optional(),
      devServer: z
        .strictObject({
          ip: z.string().default('127.0.0.1'),
          port: port.default(7233),
          uiPort: port.default(8233),
        })
        .prefault({}),
    })
    .prefault({}),
  database: z
    .strictObject({
      /** When set, use this Postgres and start no embedded one. */
      url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional(),
      embeddedPort: port.default(54329),
    })
    .prefault({}),
  workers: z
    .strictObject({
      orchestrationQueue: queueName.default('swarm-orchestration'),
      hostId: queueName.default(hostname().replace(/[^a-zA-Z0-9._-]/g, '-')),
      shutdownGraceTime: duration.default('30s'),
      /**
       * `all`: the whole stack (server and Postgres unless given, both workers, webhooks, Telegram).
       * `host`: only this host's worker, joining a stack that runs elsewhere (TEMPORAL_ADDRESS and
       * DATABASE_URL name it): another machine for worktrees and agents.
       */
      role: z.enum(['all', 'host']).default('all'),
      /** How often a host worker writes its heartbeat (capacity, agents running) to Postgres; `swarm status` lists hosts from it. */
      heartbeatInterval: duration.refine((d) => msToNumber(d as Duration) >= 1_000, 'at least "1s"').default('10s'),
    })
    .prefault({}),
  /**
   * Agents by name. `command`: any argv, run in the task's tmux session (never through a shell).
   * `codex`, `claude`, `gemini`: the pinned CLI through its adapter (headless JSON events by default).
   */
  agents: z
    .record(agentName, AgentSchema)
    .prefault({
      // The scripted agent (scenario file in the repository) stands in for a model in demos and tests.
      scripted: { command: ['node', join(PROJECT_ROOT, 'activities', 'agents', 'scripted-agent.mjs'), 'swarm-scenario.json'] },
      codex: { kind: 'codex', model: 'gpt-5-codex' },
      claude: { kind: 'claude', model: 'claude-sonnet-4-5' },
      gemini: { kind: 'gemini', model: 'gemini-2.5-pro' },
    }),
  /**
   * USD per million tokens, for runs that report no cost of their own (Codex, Gemini, any TUI). List prices
   * when this was written; a model missing here gets no cost rather than a guess.
   */
  prices: z
    .record(z.string().min(1), z.strictObject({ inputPerMTok: z.number().nonnegative(), cachedInputPerMTok: z.number().nonnegative().optional(), outputPerMTok: z.number().nonnegative() }))
    .default({
      'gpt-5-codex': { inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10 },
      'gpt-5': { inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10 },
      'claude-sonnet-4-5': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
      'gemini-2.5-pro': { inputPerMTok: 1.25, cachedInputPerMTok: 0.31, outputPerMTok: 10 },
      'gemini-2.5-flash': { inputPerMTok: 0.3, cachedInputPerMTok: 0.075, outputPerMTok: 2.5 },
      // Gemini CLI's side requests (routing, next-speaker checks).
      'gemini-2.5-flash-lite': { inputPerMTok: 0.1, cachedInputPerMTok: 0.025, outputPerMTok: 0.4 },
    }),
  /**
   * Task shape -> agent name, or a handoff `{ concept, implement }`: one agent writes the concept,
   * the other implements it. The runbook's routing table by default.
   */
  routing: z
    .strictObject({
      backend: route.default('codex'),
      refactor: route.default('codex'),
      bug: route.default('codex'),
      ui: route.default('claude'),
      git: route.default('claude'),
      spec: route.default({ concept: 'gemini', implement: 'claude' }),
    })
    .prefault({}),
  /**
   * Reviewers, run in parallel on every PR head. `command`: an argv that reads the diff on stdin and
   * prints `{"findings": [...]}`. `codex`, `claude`, `gemini`: the pinned CLI, read-only, with a focus.
   */
  reviewers: z.array(ReviewerSchema).default([]),
  /** The GitHub forge, for tasks on `owner/name`: used only when a token or a GitHub App is set (one of the two). */
  github: z
    .strictObject({
      token: z.string().min(1).optional(),
      /**
       * Authenticate as a GitHub App installation instead of with a token: installation tokens are
       * minted with the App's private key and refreshed before they expire. Only the key's path is
       * configuration; its text is read by the forge when it needs a token, and never held here.
       */
      app: z
        .strictObject({
          appId: z.coerce.string().regex(/^[1-9]\d*$|^Iv[0-9A-Za-z.]+$/, "the App's numeric id (or its client ID)"),
          installationId: z.coerce.string().regex(/^[1-9]\d*$/, 'a numeric installation id'),
          privateKeyPath: z.string().min(1, "the path of the App's private key (.pem)"),
        })
        .optional(),
      /** REST API root; https://<host>/api/v3 for GitHub Enterprise Server. */
      apiUrl: z.string().url().default('https://api.github.com'),
      /** Where `owner/name.git` is cloned from and pushed to; derived from apiUrl when unset. */
      gitUrl: z.string().url().optional(),
    })
    .refine((g) => !(g.token && g.app), { message: 'set either GITHUB_TOKEN or the GitHub App (GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID, GITHUB_APP_PRIVATE_KEY_PATH), not both' })
    .prefault({}),
  /** The GitHub webhook endpoint: started only when a secret is set. */
  webhooks: z
    .strictObject({
      secret: z.string().min(1).optional(),
      port: port.default(8787),
      host: z.string().default('127.0.0.1'),
      /** The label that makes an issue a task (the `issues.labeled` event); GitHub compares labels without case. */
      intakeLabel: z.string().trim().min(1).max(50).default('swarm'),
    })
    .prefault({}),
  /**
   * The Telegram notifier and remote control (activities/notify/telegram): on only when a token and
   * a chat are set. The console notifier keeps running beside it.
   */
  telegram: z
    .strictObject({
      /** The bot's token (env TELEGRAM_BOT_TOKEN only): it is the bot's whole identity. */
      token: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token as BotFather gives it (<digits>:<letters>)').optional(),
      /** The chat the task messages go to, and the only one whose commands and presses are heard: a numeric id or @channelusername. */
      chatId: z.coerce.string().regex(/^-?\d+$|^@[A-Za-z0-9_]{5,}$/, 'a numeric chat id or @channelusername').optional(),
      /** The Bot API root (a local Bot API server, a stand-in), without a trailing slash. */
      apiRoot: z.string().url().refine((u) => !u.endsWith('/'), 'no trailing slash').default('https://api.telegram.org'),
      /** `polling`: getUpdates, no public URL needed. `webhook`: Telegram calls the endpoint below. */
      mode: z.enum(['polling', 'webhook']).default('polling'),
      webhook: z
        .strictObject({
          /** The public HTTPS URL Telegram posts to (it ends with `path`); setWebhook is called with it. */
          url: z.string().url().optional(),
          /** Telegram's X-Telegram-Bot-Api-Secret-Token (env TELEGRAM_WEBHOOK_SECRET only): 1-256 of A-Z a-z 0-9 _ -. */
          secret: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, '1-256 characters of A-Z, a-z, 0-9, _ and -').optional(),
          port: port.default(8788),
          host: z.string().default('127.0.0.1'),
          path: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'a URL path').default('/telegram'),
        })
        .prefault({}),
    })
    .refine((t) => t.mode !== 'webhook' || !t.token || !t.chatId || t.webhook.secret, { message: 'webhook mode needs TELEGRAM_WEBHOOK_SECRET: without it anyone who finds the endpoint could press the buttons' })
    .prefault({}),
  tasks: z
    .strictObject({
      /** How often a task waiting for approval reminds the approvers. */
      approvalReminder: duration.default('1d'),
      /** How long a host-bound step waits for its host's worker to pick it up (a host nobody serves) before a human is told. */
      hostUnansweredTimeout: duration.default('5m'),
      /** How long each attempt's kept log, events and prompt stay (<state>/logs) after their task's start last wrote one. */
      logRetention: duration.pipe(z.string().refine((d) => msToNumber(d as Duration) >= 3_600_000, 'at least "1h": a shorter retention would remove the logs of a task that has only just ended')).default('30d'),
    })
    .prefault({}),
  /** The reaper: a schedule per host that removes what closed task workflows left on it (a task terminated in the Web UI runs no cleanup). */
  reaper: z
    .strictObject({
      /** How often this host's reaper runs. */
      interval: duration.refine((d) => !/^0+[a-z]+$/.test(d), 'a duration longer than 0').default('10m'),
      /** A task closed less than this long ago is left alone: it may still be running its own cleanup. */
      grace: duration.default('1m'),
    })
    .prefault({}),
  /** The business context vault (workflows/context): what the execution tier may see of it, and how much of it a prompt carries. */
  context: z
    .strictObject({
      /** The most sensitive notes whose text an agent's prompt may carry; above it, only a note's constraint. */
      executionTier: z.enum(SENSITIVITIES).default('internal'),
      /** Prompt tokens (about 4 characters each) for the selected notes, per agent unless it sets `contextTokens`. */
      tokens: z.coerce.number().int().min(0).max(200_000).default(1500),
    })
    .prefault({}),
  /** This host's resource ceiling. Defaults are sized for 2 cores; raise them on a bigger machine. */
  host: z
    .strictObject({
      /** Agents mostly wait on the model, so more run at once than there are cores. */
      maxAgents: z.coerce.number().int().min(1).default(3),
      /** CI runs and bootstrap installs are CPU-bound: one at a time leaves a core to the agents and the workers. */
      maxHeavyValidations: z.coerce.number().int().min(1).default(1),
      /** Headroom for the workers, Postgres, the dev server and a starting agent (~0.5 GiB each at start). */
      minFreeMemoryMb: z.coerce.number().int().min(0).default(2048),
      /** Per process of an agent (prlimit counts writable mappings, not resident memory: Codex maps ~600 MiB at start). */
      agentMemoryLimitMb: z.coerce.number().int().min(256).default(4096),
      /** Memory and agent slots free up in minutes (an agent exits, a CI run ends), not seconds. */
      spawnHoldRetry: duration.default('30s'),
      /** Processes and threads of one sandboxed agent (RLIMIT_NPROC of its own uid, so as root only): a fork bomb stops there. Node runs ~11 threads per process. */
      agentMaxProcesses: z.coerce.number().int().min(64).default(2048),
      /**
       * Agents in a bubblewrap sandbox (activities/agents/sandbox.ts): `required` (no sandbox, no
       * agent: the task goes to a human), `preferred` (sandboxed where this host can), `off`. Unset:
       * `required` for the CLI agents, `preferred` for a command agent.
       */
      sandbox: z.enum(SANDBOX_MODES).optional(),
      /** Wall time of one agent run, from its start: past it the agent is stopped (SIGTERM, SIGKILL 30 s later) and its exit says why. */
      agentMaxRuntime: duration.default('4h'),
      /** Size of a sandboxed agent's private /tmp (memory-backed): a full /tmp fails the agent's writes, not the host. */
      agentTmpMb: z.coerce.number().int().min(16).default(1024),
      /**
       * Disk an agent's clone and home may take, measured every 10 s while it runs (this host's
       * filesystems have no project quotas): past it the agent is stopped and its exit says why.
       */
      agentDiskMb: z.coerce.number().int().min(64).default(20_480),
      /** Destinations every sandboxed agent of this host may reach beside its model endpoint and its repository's registries (a gateway, a mirror). */
      egressAllow: destinations.default([]),
    })
    .prefault({}),
  /**
   * Who may approve a merge, each with the identities that prove it is them: an Ed25519 public key
   * (CLI and client decisions are signed), a GitHub login (an APPROVED review at the head), a
   * Telegram user id (a button press). Empty means nobody can: merges need a named human. A bare
   * name (or `SWARM_APPROVERS=alice,bob`) names an approver with no proof yet, who can approve nothing.
   */
  approvers: z
    .preprocess(
      (v) => (typeof v === 'string' ? (v.trim().startsWith('[') ? parseJsonOr(v) : v.split(',').map((s) => s.trim()).filter(Boolean)) : v),
      z.array(z.union([z.string().min(1).transform((name) => ({ name })), ApproverSchema])),
    )
    .refine((list) => new Set(list.map((a) => a.name)).size === list.length, 'each approver is named once')
    .default([]),
  approvals: z
    .strictObject({
      /** Whether the person who requested a task (its spec's requestedBy) may approve it alone; by default another approver must. */
      requesterMayApprove: bool.default(false),
      /** How far in the future a signed decision's `at` may be (the signer's clock ahead of the workflow's). */
      maxClockSkew: duration.default('5m'),
    })
    .prefault({}),
  /** The orchestrator's Ed25519 key: it signs the evidence chain and relays Telegram decisions. */
  keys: z
    .strictObject({
      /** The orchestrator's private key as PEM (env SWARM_ORCHESTRATOR_KEY only); else the file below, created 0600 at first start. */
      orchestratorKey: z.string().min(1).optional(),
      /** Where the orchestrator's private key file is; `<stateDir>/keys/orchestrator.key` when unset. */
      orchestratorKeyFile: z.string().min(1).optional(),
      /** The caller's own approver key as PEM (env SWARM_APPROVER_KEY only): `swarm approve` and the client sign with it. */
      approverKey: z.string().min(1).optional(),
      /** The caller's approver key file; else `<approverKeyDir>/<name>.key` for the `--by` name. */
      approverKeyFile: z.string().min(1).optional(),
      /** Where `swarm keys create` writes approver keys and `swarm approve` looks for them. */
      approverKeyDir: z.string().min(1).default(join(homedir(), '.config', 'swarmflow', 'keys')),
      /** Public keys of orchestrator keys rotated out: the chains they signed still verify. */
      retired: z.array(z.string().regex(PUBLIC_KEY_PATTERN, 'an Ed25519 public key as `ed25519:<64 hex digits>`')).default([]),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Every env var the configuration reads, and where it lands. Secrets are never printed. */
export const ENV_VARS = {
  SWARM_STATE_DIR: { path: ['stateDir'] },
  TEMPORAL_ADDRESS: { path: ['temporal', 'address'] },
  TEMPORAL_NAMESPACE: { path: ['temporal', 'namespace'] },
  TEMPORAL_API_KEY: { path: ['temporal', 'apiKey'], secret: true },
  TEMPORAL_TLS: { path: ['temporal', 'tls', 'enabled'] },
  TEMPORAL_TLS_SERVER_NAME: { path: ['temporal', 'tls', 'serverName'] },
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: { path: ['temporal', 'tls', 'serverRootCaCertPath'] },
  TEMPORAL_TLS_CLIENT_CERT_PATH: { path: ['temporal', 'tls', 'clientCertPath'] },
  TEMPORAL_TLS_CLIENT_KEY_PATH: { path: ['temporal', 'tls', 'clientKeyPath'] },
  SWARM_TEMPORAL_PORT: { path: ['temporal', 'devServer', 'port'] },
  SWARM_TEMPORAL_UI_PORT: { path: ['temporal', 'devServer', 'uiPort'] },
  SWARM_TEMPORAL_IP: { path: ['temporal', 'devServer', 'ip'] },
  SWARM_TEMPORAL_UI_URL: { path: ['temporal', 'webUiUrl'] },
  DATABASE_URL: { path: ['database', 'url'], secret: true },
  SWARM_PG_PORT: { path: ['database', 'embeddedPort'] },
  SWARM_ORCHESTRATION_QUEUE: { path: ['workers', 'orchestrationQueue'] },
  SWARM_HOST_ID: { path: ['workers', 'hostId'] },
  SWARM_SHUTDOWN_GRACE: { path: ['workers', 'shutdownGraceTime'] },
  SWARM_WORKER_ROLE: { path: ['workers', 'role'] },
  SWARM_HOST_HEARTBEAT: { path: ['workers', 'heartbeatInterval'] },
  SWARM_APPROVERS: { path: ['approvers'] },
  SWARM_REQUESTER_MAY_APPROVE: { path: ['approvals', 'requesterMayApprove'] },
  SWARM_ORCHESTRATOR_KEY: { path: ['keys', 'orchestratorKey'], secret: true },
  SWARM_ORCHESTRATOR_KEY_FILE: { path: ['keys', 'orchestratorKeyFile'] },
  SWARM_APPROVER_KEY: { path: ['keys', 'approverKey'], secret: true },
  SWARM_APPROVER_KEY_FILE: { path: ['keys', 'approverKeyFile'] },
  SWARM_APPROVER_KEY_DIR: { path: ['keys', 'approverKeyDir'] },
  GITHUB_TOKEN: { path: ['github', 'token'], secret: true },
  GITHUB_APP_ID: { path: ['github', 'app', 'appId'] },
  GITHUB_APP_INSTALLATION_ID: { path: ['github', 'app', 'installationId'] },
  GITHUB_APP_PRIVATE_KEY_PATH: { path: ['github', 'app', 'privateKeyPath'] },
  GITHUB_API_URL: { path: ['github', 'apiUrl'] },
  GITHUB_GIT_URL: { path: ['github', 'gitUrl'] },
  GITHUB_WEBHOOK_SECRET: { path: ['webhooks', 'secret'], secret: true },
  SWARM_WEBHOOK_PORT: { path: ['webhooks', 'port'] },
  SWARM_WEBHOOK_HOST: { path: ['webhooks', 'host'] },
  SWARM_INTAKE_LABEL: { path: ['webhooks', 'intakeLabel'] },
  TELEGRAM_BOT_TOKEN: { path: ['telegram', 'token'], secret: true },
  SWARM_TELEGRAM_CHAT_ID: { path: ['telegram', 'chatId'] },
  TELEGRAM_API_ROOT: { path: ['telegram', 'apiRoot'] },
  SWARM_TELEGRAM_MODE: { path: ['telegram', 'mode'] },
  SWARM_TELEGRAM_WEBHOOK_URL: { path: ['telegram', 'webhook', 'url'] },
  TELEGRAM_WEBHOOK_SECRET: { path: ['telegram', 'webhook', 'secret'], secret: true },
  SWARM_TELEGRAM_WEBHOOK_PORT: { path: ['telegram', 'webhook', 'port'] },
  SWARM_TELEGRAM_WEBHOOK_HOST: { path: ['telegram', 'webhook', 'host'] },
  SWARM_TELEGRAM_WEBHOOK_PATH: { path: ['telegram', 'webhook', 'path'] },
  SWARM_APPROVAL_REMINDER: { path: ['tasks', 'approvalReminder'] },
  SWARM_HOST_UNANSWERED_TIMEOUT: { path: ['tasks', 'hostUnansweredTimeout'] },
  SWARM_LOG_RETENTION: { path: ['tasks', 'logRetention'] },
  SWARM_REAPER_INTERVAL: { path: ['reaper', 'interval'] },
  SWARM_REAPER_GRACE: { path: ['reaper', 'grace'] },
  SWARM_CONTEXT_TIER: { path: ['context', 'executionTier'] },
  SWARM_CONTEXT_TOKENS: { path: ['context', 'tokens'] },
  SWARM_MAX_AGENTS: { path: ['host', 'maxAgents'] },
  SWARM_MAX_HEAVY_VALIDATIONS: { path: ['host', 'maxHeavyValidations'] },
  SWARM_MIN_FREE_MEMORY_MB: { path: ['host', 'minFreeMemoryMb'] },
  SWARM_AGENT_MEMORY_LIMIT_MB: { path: ['host', 'agentMemoryLimitMb'] },
  SWARM_SPAWN_HOLD_RETRY: { path: ['host', 'spawnHoldRetry'] },
  SWARM_SANDBOX: { path: ['host', 'sandbox'] },
  SWARM_AGENT_MAX_PROCESSES: { path: ['host', 'agentMaxProcesses'] },
  SWARM_EGRESS_ALLOW: { path: ['host', 'egressAllow'] },
  SWARM_AGENT_MAX_RUNTIME: { path: ['host', 'agentMaxRuntime'] },
  SWARM_AGENT_TMP_MB: { path: ['host', 'agentTmpMb'] },
  SWARM_AGENT_DISK_MB: { path: ['host', 'agentDiskMb'] },
  SWARM_LOG_LEVEL: { path: ['log', 'level'] },
  SWARM_LOG_FORMAT: { path: ['log', 'format'] },
} as const satisfies Record<string, { path: readonly string[]; secret?: boolean }>;

/**
 * Env vars the app reads outside the configuration object: the binary overrides of the bootstrap
 * and the config file location. Listed so that deployment files can be checked against them.
 */
export const OTHER_ENV_VARS = [
  'SWARM_CONFIG',
  'SWARM_TOOLS_DIR',
  'SWARM_TEMPORAL_CLI',
  'SWARM_TEMPORAL_TEST_SERVER',
  // The agent CLIs' keys, read by their adapters on the host worker and handed to that agent only.
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GEMINI_API_KEY',
] as const;

export type EnvVarName = keyof typeof ENV_VARS;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Json = { [key: string]: unknown };

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function envNameFor(path: PropertyKey[]): EnvVarName | undefined {
  // An element of a list the variable holds (host.egressAllow.0) is that variable's too.
  const dotted = path.filter((key, i) => !(typeof key === 'number' && i === path.length - 1)).join('.');
  return (Object.keys(ENV_VARS) as EnvVarName[]).find((name) => ENV_VARS[name].path.join('.') === dotted);
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to $SWARM_CONFIG, else ./swarmflow.config.json when it exists. */
  file?: string;
}

/** Loads and validates; throws ConfigError listing every bad field with what was expected. */
export function loadConfig({ env = process.env, file }: LoadOptions = {}): Config {
  const problems: string[] = [];
  const configFile = file ?? env.SWARM_CONFIG ?? join(process.cwd(), 'swarmflow.config.json');
  let raw: Json = {};
  if (existsSync(configFile)) {
    try {
      raw = JSON.parse(readFileSync(configFile, 'utf8')) as Json;
    } catch (err) {
      problems.push(`${configFile}: not valid JSON (${(err as Error).message})`);
    }
  } else if (file ?? env.SWARM_CONFIG) {
    problems.push(`config file ${configFile} does not exist (set by ${file ? 'the caller' : 'SWARM_CONFIG'})`);
  }
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    const secret = 'secret' in spec && spec.secret;
    if (secret && getPath(raw, spec.path) !== undefined) {
      problems.push(`${spec.path.join('.')}: secrets are read from env only; move it to ${name} and remove it from ${configFile}`);
    }
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, spec.path, value);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const env = envNameFor(issue.path);
      const where = issue.path.join('.') || '(root)';
      if (issue.code === 'unrecognized_keys') {
        // A misspelt key would otherwise be dropped and its default used ("aprovers": nobody can approve).
        const known = keysAt(ConfigSchema, issue.path);
        for (const key of issue.keys) problems.push(`${where}: unknown key "${key}"${suggestion(key, known)}`);
      } else {
        problems.push(`${where}${env ? ` (env ${env})` : ''}: ${issue.message}`);
      }
    }
  } else {
    problems.push(...routeProblems(raw, parsed.data));
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return { ...parsed.data, stateDir: resolve(parsed.data.stateDir) };
}

/**
 * Routes the file or env set to agents that are not configured. A default route to an agent the
 * file left out is not refused: a task of that shape is refused when it is started.
 */
function routeProblems(raw: Json, config: Config): string[] {
  const configured = Object.keys(config.agents);
  const given = (getPath(raw, ['routing']) ?? {}) as Json;
  return Object.keys(given).flatMap((shape) => {
    const route = config.routing[shape as keyof Config['routing']];
    const names = typeof route === 'string' ? [route] : [route.concept, route.implement];
    return names
      .filter((name) => !configured.includes(name))
      .map((name) => `routing.${shape}: agent "${name}" is not configured; configured agents: ${configured.map((a) => `"${a}"`).join(', ') || 'none'}`);
  });
}

/** The keys a strict object of the schema accepts at `path` (through defaults, pipes, records and unions). */
function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return keysAt(def.innerType as z.ZodType, path);
    case 'pipe':
      return keysAt(def.out as z.ZodType, path);
    case 'union':
      return [...new Set((def.options as z.ZodType[]).flatMap((o) => keysAt(o, path)))];
    case 'record':
      return path.length === 0 ? [] : keysAt(def.valueType as z.ZodType, path.slice(1));
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next ? keysAt(next, path.slice(1)) : [];
    }
    default:
      return [];
  }
}

/** ` (did you mean "approvers"?)` for a key one or two edits away from a known one, else the known keys. */
function suggestion(key: string, known: string[]): string {
  const near = known.map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  return near && near.d <= 2 ? ` (did you mean "${near.k}"?)` : `; known keys here: ${known.join(', ') || 'none'}`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

function getPath(obj: Json, path: readonly string[]): unknown {
  let node: unknown = obj;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

/** The configuration as it may be shown: secrets replaced, passwords cut out of URLs. */
export function redactedConfig(config: Config): Config {
  return {
    ...config,
    temporal: { ...config.temporal, apiKey: config.temporal.apiKey ? '[redacted]' : undefined },
    webhooks: { ...config.webhooks, secret: config.webhooks.secret ? '[redacted]' : undefined },
    // github.app holds the private key's path only (the key is read by the forge, never kept in config).
    github: { ...config.github, token: config.github.token ? '[redacted]' : undefined },
    telegram: { ...config.telegram, token: config.telegram.token ? '[redacted]' : undefined, webhook: { ...config.telegram.webhook, secret: config.telegram.webhook.secret ? '[redacted]' : undefined } },
    database: { ...config.database, url: config.database.url ? redactUrl(config.database.url) : undefined },
  };
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '[redacted]';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}

/** The task queue of the host whose SWARM_HOST_ID is `hostId`. */
export const hostQueueOf = (hostId: string): string => `swarm-host-${hostId}`;

/** The Telegram settings when both a token and a chat are set: Telegram is on. */
export function telegramSettings(config: Config): (Config['telegram'] & { token: string; chatId: string }) | undefined {
  const { token, chatId } = config.telegram;
  return token && chatId ? { ...config.telegram, token, chatId } : undefined;
}

export function hostQueue(config: Config): string {
  return hostQueueOf(config.workers.hostId);
}

/** The Web UI's page of a workflow: the configured UI, else the embedded dev server's (none for a server we did not start and no UI set). */
export function webUiLink(config: Config, workflowId: string): string | undefined {
  const { webUiUrl, address, devServer, namespace } = config.temporal;
  const root = webUiUrl ?? (address ? undefined : `http://${devServer.ip}:${devServer.uiPort}`);
  return root && `${root}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The worker's secret files outside the state folder: what a sandboxed agent cannot read. */
export function secretFiles(config: Config): string[] {
  const { github, temporal, keys } = config;
  return [github.app?.privateKeyPath, temporal.tls.clientKeyPath, keys.orchestratorKeyFile, keys.approverKeyFile].filter((f): f is string => !!f).map((f) => resolve(f));
}
