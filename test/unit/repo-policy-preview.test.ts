// swarmflow.repo.json's `preview`: parsed into what captureScreenshots takes, refused with every bad field named.
import { describe, expect, it } from '@jest/globals';
import { parseRepoPolicy } from '../../activities/forge/policy.ts';

const parse = (preview: unknown) => parseRepoPolicy(JSON.stringify({ uiPaths: ['web/'], preview }), 'swarmflow.repo.json');
const problems = (preview: unknown): string[] => {
  try {
    parse(preview);
  } catch (err) {
    return (err as { details?: Array<{ problems: string[] }> }).details?.[0]?.problems ?? [];
  }
  throw new Error('accepted');
};

describe('repository policy: preview', () => {
  it('parses the preview with a 60 s start timeout and a 1280×800 viewport by default', () => {
    expect(parse({ command: 'npm run preview', readyPath: '/', routes: ['/', '/settings?tab=profile'] }).preview).toEqual({
      command: 'npm run preview',
      readyPath: '/',
      routes: ['/', '/settings?tab=profile'],
      timeoutMs: 60_000,
      viewport: { width: 1280, height: 800 },
    });
    expect(parse({ command: 'node server.mjs', readyPath: '/health', routes: ['/'], timeout: '2m', viewport: { width: 390, height: 844 } }).preview).toMatchObject({ timeoutMs: 120_000, viewport: { width: 390, height: 844 } });
  });

  it('is absent when the file has none', () => {
    expect(parseRepoPolicy('{}', 'swarmflow.repo.json').preview).toBeUndefined();
  });

  it('names every bad field', () => {
    const found = problems({ command: ' ', readyPath: 'health', routes: ['/', '//evil.example/', '/a b', '/'], timeout: 'soon', viewport: { width: 10 }, port: 3000 });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^preview\.command: a shell command/),
        expect.stringMatching(/^preview\.readyPath: a URL path starting with one "\/"/),
        expect.stringMatching(/^preview\.routes\.1: a URL path/),
        expect.stringMatching(/^preview\.routes\.2: a URL path/),
        expect.stringMatching(/^preview\.timeout: a positive duration/),
        expect.stringMatching(/^preview\.viewport\.width: /),
        expect.stringMatching(/^preview\.viewport\.height: /),
        expect.stringMatching(/^preview: Unrecognized key: "port"/),
      ]),
    );
    expect(problems({ command: 'x', readyPath: '/', routes: [] })).toEqual(['preview.routes: at least one route to capture']);
    expect(problems({ command: 'x', readyPath: '/', routes: Array.from({ length: 21 }, (_, i) => `/p${i}`) })[0]).toMatch(/^preview\.routes: .*20/);
    expect(problems({ command: 'x', readyPath: '/', routes: ['/a', '/a'] })).toEqual(['preview.routes.1: duplicate route "/a"']);
  });
});
