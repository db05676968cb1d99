// The repository's own policy file (swarmflow.repo.json on the base branch): its CI commands, its
// UI paths and the preview server the UI gate takes its screenshots from, and the paths the
// anti-gaming gate protects or allows. Forge-agnostic: the local forge reads it with git, a GitHub forge through the API.
import type { Duration as TemporalDuration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { z } from 'zod';
import { RepoRelativePath } from '../../workflows/task/spec.ts';
import type { RepoPolicy } from '../../workflows/task/types.ts';
import { FailureType, nonRetryable } from '../errors.ts';
import { Destination } from '../../lib/config.ts';

export const POLICY_FILE = 'swarmflow.repo.json';
const DEFAULT_TIMEOUT = '10m';
const DEFAULT_PREVIEW_TIMEOUT = '60s';
export const DEFAULT_VIEWPORT = { width: 1280, height: 800 };
/** Each route is loaded and captured twice (base and head): past a few dozen the gate is a crawl. */
export const MAX_PREVIEW_ROUTES = 20;

const Duration = z
  .string()
  .regex(/^[1-9]\d*(ms|s|m|h|d)$/, 'a positive duration such as "90s", "10m" or "1h"')
  .transform((d) => msToNumber(d as TemporalDuration));

/** A check's name becomes its log file's name: a slug-like token, nothing path-like. */
export const CheckName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "_" and "-" (at most 64), e.g. "lint"');

/** A glob over repository paths (activities/gates/paths.ts): `**`, `*`, `?`, a trailing `/` for a folder. */
export const PathGlob = RepoRelativePath.refine((p) => !/[[\]{}!]/.test(p), 'a glob of "**", "*" and "?" only (no [..], {..} or !)');

/** A check as the workflow passes it to runCi (already parsed from the policy file). */
export const CiCheckConfigSchema = z.object({
  name: CheckName,
  command: z.string().trim().min(1).max(10_000),
  timeoutMs: z.number().int().positive(),
});

/**
 * A path on the preview server, with its query if any: it is appended to http://127.0.0.1:<port>,
 * so "//host" (another origin), backslashes, whitespace and fragments are refused.
 */
export const UrlPath = z
  .string()
  .max(2_000)
  .regex(/^\/(?!\/)[^\s\\#]*$/, 'a URL path starting with one "/", such as "/" or "/settings?tab=profile" (no spaces, "\\" or "#")');

const Viewport = z.strictObject({
  width: z.number().int().min(200).max(3_840),
  height: z.number().int().min(200).max(2_160),
});

/** The preview as the workflow passes it to captureScreenshots (already parsed from the policy file). */
export const PreviewConfigSchema = z.object({
  command: z.string().trim().min(1).max(10_000),
  readyPath: UrlPath,
  routes: z.array(UrlPath).min(1).max(MAX_PREVIEW_ROUTES),
  timeoutMs: z.number().int().positive(),
  viewport: Viewport,
});

const PreviewSchema = z
  .strictObject({
    command: z.string().trim().min(1, 'a shell command that serves the site on $SWARM_PORT').max(10_000),
    readyPath: UrlPath,
    routes: z.array(UrlPath).min(1, 'at least one route to capture').max(MAX_PREVIEW_ROUTES),
    timeout: Duration.prefault(DEFAULT_PREVIEW_TIMEOUT),
    viewport: Viewport.default(DEFAULT_VIEWPORT),
  })
  .superRefine((preview, ctx) => {
    preview.routes.forEach((route, i) => {
      if (preview.routes.indexOf(route) !== i) ctx.addIssue({ code: 'custom', path: ['routes', i], message: `duplicate route "${route}"` });
    });
  });

const PolicyFileSchema = z
  .strictObject({
    ci: z
      .array(
        z.strictObject({
          name: CheckName,
          command: z.string().trim().min(1, 'a shell command').max(10_000),
          timeout: Duration.prefault(DEFAULT_TIMEOUT),
        }),
      )
      .max(50)
      .default([]),
    uiPaths: z.array(RepoRelativePath).max(200).default([]),
    /** Which review severities block (go back to the agent, count as a round). */
    review: z.strictObject({ block: z.array(z.enum(['critical', 'major', 'minor'])).min(1, 'at least one severity, e.g. ["critical"]').default(['critical']) }).prefault({}),
    protectedPaths: z.array(PathGlob).max(200).default([]),
    allowPaths: z.array(PathGlob).max(200).default([]),
    bootstrap: z
      .strictObject({
        envFiles: z.array(RepoRelativePath).max(50).default([]),
        install: z.strictObject({ command: z.string().trim().min(1, 'a shell command').max(10_000), timeout: Duration.prefault(DEFAULT_TIMEOUT) }).optional(),
        /** What the install may reach in its sandbox (the registries it downloads from), before the agent runs narrowed to network.allow. */
        network: z.strictObject({ allow: z.array(Destination).max(100).default([]) }).optional(),
      })
      .prefault({}),
    preview: PreviewSchema.optional(),
    /** What a sandboxed agent may reach beyond its model endpoint: the package registries its installs and tests need. */
    network: z.strictObject({ allow: z.array(Destination).max(100).default([]) }).prefault({}),
  })
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.ci.forEach((check, i) => {
      if (seen.has(check.name)) ctx.addIssue({ code: 'custom', path: ['ci', i, 'name'], message: `duplicate check name "${check.name}"` });
      seen.add(check.name);
    });
  });

export const EMPTY_POLICY: RepoPolicy = { ci: [], uiPaths: [], review: { block: ['critical'] }, bootstrap: { envFiles: [] }, protectedPaths: [], allowPaths: [], network: { allow: [] } };

/** Parses the policy file's text; an invalid file is a non-retryable InvalidInput naming every bad field. */
export function parseRepoPolicy(text: string, source: string): RepoPolicy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw nonRetryable(FailureType.InvalidInput, `${source} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = PolicyFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
    throw nonRetryable(FailureType.InvalidInput, `${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  }
  const { preview } = parsed.data;
  return {
    ci: parsed.data.ci.map(({ name, command, timeout }) => ({ name, command, timeoutMs: timeout })),
    uiPaths: parsed.data.uiPaths,
    review: { block: [...new Set(parsed.data.review.block)] },
    bootstrap: {
      envFiles: parsed.data.bootstrap.envFiles,
      install: parsed.data.bootstrap.install && { command: parsed.data.bootstrap.install.command, timeoutMs: parsed.data.bootstrap.install.timeout },
      ...(parsed.data.bootstrap.network ? { network: parsed.data.bootstrap.network } : {}),
    },
    protectedPaths: parsed.data.protectedPaths,
    allowPaths: parsed.data.allowPaths,
    network: { allow: parsed.data.network.allow },
    ...(preview && { preview: { command: preview.command, readyPath: preview.readyPath, routes: preview.routes, timeoutMs: preview.timeout, viewport: preview.viewport } }),
  };
}
