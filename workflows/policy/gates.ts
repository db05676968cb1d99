// Step 7's policy gate: a change to the repository's UI paths must carry screenshot evidence,
// either an image in the PR description or an image file committed with the change.
import type { ChangedFiles } from '../task/types.ts';
import { listOf, shortSha } from './text.ts';

export interface UiEvidence {
  /** The head the changed files were read at: evidence for another head does not count. */
  headSha: string;
  required: boolean;
  satisfied: boolean;
  detail: string;
}

const MARKDOWN_IMAGE = /!\[[^\]]*\]\([^)\s]+[^)]*\)/;
const IMAGE_FILE = /\.(png|jpe?g|gif|webp)$/i;

export interface UiEvidenceInput {
  changedFiles: ChangedFiles;
  /** Path prefixes, matched literally: "web/" matches "web/app.tsx", "web" also matches "webhooks/". */
  uiPaths: string[];
  prBody: string;
}

export function uiEvidenceGate({ changedFiles, uiPaths, prBody }: UiEvidenceInput): UiEvidence {
  const { headSha, files } = changedFiles;
  const uiChanges = files.filter((f) => uiPaths.some((prefix) => f.path.startsWith(prefix))).map((f) => f.path);
  if (uiChanges.length === 0) {
    return { headSha, required: false, satisfied: true, detail: `no changes under the UI paths at ${shortSha(headSha)}` };
  }
  const images = files.filter((f) => f.status === 'added' && IMAGE_FILE.test(f.path)).map((f) => f.path);
  const changed = `UI changes (${listOf(uiChanges, 3)})`;
  if (MARKDOWN_IMAGE.test(prBody)) return { headSha, required: true, satisfied: true, detail: `${changed} have a screenshot in the PR description` };
  if (images.length > 0) return { headSha, required: true, satisfied: true, detail: `${changed} have a committed screenshot (${listOf(images, 3)})` };
  return {
    headSha,
    required: true,
    satisfied: false,
    detail: `${changed} need screenshot evidence: an image in the PR description or a committed png/jpg/gif/webp file`,
  };
}
