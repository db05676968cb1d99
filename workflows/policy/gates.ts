// Step 7's policy gate: a change to the repository's UI paths must carry screenshot evidence taken
// by the orchestrator itself (captureScreenshots, from the repository's `preview`) at the PR head.
// An image the agent put in the PR description is its own claim, not evidence.
import type { ChangedFiles, UiCapture } from '../task/types.ts';
import { listOf, shortSha } from './text.ts';

export interface UiEvidence {
  /** The head the changed files were read at: evidence for another head does not count. */
  headSha: string;
  required: boolean;
  satisfied: boolean;
  detail: string;
}

const MARKDOWN_IMAGE = /!\[[^\]]*\]\([^)\s]+[^)]*\)/;

export interface UiEvidenceInput {
  changedFiles: ChangedFiles;
  /** Path prefixes, matched literally: "web/" matches "web/app.tsx", "web" also matches "webhooks/". */
  uiPaths: string[];
  /** The repository's `preview` (its routes are what must be captured); absent when it has none. */
  preview?: { routes: string[] };
  /** The orchestrator's capture; absent while none was taken. */
  capture?: UiCapture;
  /** Read only to tell the agent that an image there does not count. */
  prBody?: string;
}

export function uiEvidenceGate({ changedFiles, uiPaths, preview, capture, prBody = '' }: UiEvidenceInput): UiEvidence {
  const { headSha, files } = changedFiles;
  const uiChanges = files.filter((f) => uiPaths.some((prefix) => f.path.startsWith(prefix))).map((f) => f.path);
  if (uiChanges.length === 0) {
    return { headSha, required: false, satisfied: true, detail: `no changes under the UI paths at ${shortSha(headSha)}` };
  }
  const changed = `UI changes (${listOf(uiChanges, 3)})`;
  const missing = (why: string): UiEvidence => {
    const agentsImage = MARKDOWN_IMAGE.test(prBody) ? ' (an image in the PR description does not count: the orchestrator takes the screenshots)' : '';
    return { headSha, required: true, satisfied: false, detail: `${changed} need the orchestrator's screenshots: ${why}${agentsImage}` };
  };
  if (!preview) return missing('this repository has no `preview` in swarmflow.repo.json; add one (command, readyPath, routes) so they can be taken');
  if (!capture) return missing(`none taken at ${shortSha(headSha)} yet`);
  if (capture.headSha !== headSha) return missing(`the last capture is of ${shortSha(capture.headSha)}, not the head ${shortSha(headSha)}`);
  if (capture.status === 'failed') return missing(`the preview failed on the ${capture.failure.side}: ${capture.failure.reason}`);

  const captured = new Map(capture.routes.map((r) => [r.route, r]));
  const notCaptured = preview.routes.filter((route) => !captured.has(route));
  if (notCaptured.length > 0) return missing(`${listOf(notCaptured, 3)} not captured`);
  // A page the head serves as an error is a picture of a broken page, not evidence of the change.
  const broken = preview.routes.flatMap((route) => {
    const status = captured.get(route)!.httpStatus.after;
    return status === null || status >= 400 ? [`${route} answered ${status === null ? 'nothing' : `HTTP ${status}`}`] : [];
  });
  if (broken.length > 0) return missing(`at the head ${listOf(broken, 3)}`);

  const changedRoutes = preview.routes.filter((route) => captured.get(route)!.diffPixels > 0);
  const summary = changedRoutes.length === 0 ? 'no pixel changed' : `changed: ${listOf(changedRoutes.map((route) => `${route} ${percent(captured.get(route)!.diffRatio)}`), 3)}`;
  return {
    headSha,
    required: true,
    satisfied: true,
    detail: `${changed} captured by the orchestrator at ${shortSha(headSha)}: ${preview.routes.length} route(s), ${summary} (${capture.dir})`,
  };
}

/** 0.0123 → "1.2%"; anything above zero shows as at least 0.1%. */
const percent = (ratio: number) => `${Math.max(ratio * 100, 0.1).toFixed(1)}%`;
