/** Diffs handed to reviewers are capped: a reviewer model reads a bounded prompt, and payloads stay small. */
export const DIFF_CAP_BYTES = 1_000_000;

/** Cuts a diff at a line boundary under the cap, and says so in a last line. */
export function capDiff(text: string): { diff: string; truncated: boolean } {
  const bytes = Buffer.byteLength(text);
  if (bytes <= DIFF_CAP_BYTES) return { diff: text, truncated: false };
  const head = Buffer.from(text).subarray(0, DIFF_CAP_BYTES).toString('utf8');
  const kept = head.slice(0, head.lastIndexOf('\n') + 1);
  return { diff: `${kept}[swarmflow: diff truncated, showing ${Buffer.byteLength(kept)} of ${bytes} bytes]\n`, truncated: true };
}
