// The secret scanner on real-looking tokens (built here from a seeded generator, so no literal
// token sits in this file) and on look-alikes that must not trigger; evidence is always masked.
import { describe, expect, it } from '@jest/globals';
import { entropy, scanLine } from '../../activities/gates/secrets.ts';

/** A deterministic random string over `alphabet` (mulberry32): token bodies as a provider makes them. */
function randomString(length: number, seed: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string {
  let state = seed >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out += alphabet[(((t ^ (t >>> 14)) >>> 0) % alphabet.length)];
  }
  return out;
}
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const samples: Record<string, string> = {
  aws_access_key_id: `AKIA${randomString(16, 1, UPPER_DIGITS)}`,
  github_token: `ghp_${randomString(36, 2)}`,
  github_pat: `github_pat_${randomString(22, 3)}_${randomString(59, 4)}`,
  slack_token: `xoxb-${randomString(12, 5, '0123456789')}-${randomString(13, 6, '0123456789')}-${randomString(24, 7)}`,
  stripe_live_key: `sk_live_${randomString(24, 8)}`,
  openai_api_key: `sk-proj-${randomString(48, 9)}`,
  anthropic_api_key: `sk-ant-api03-${randomString(93, 10)}AA`,
  google_api_key: `AIza${randomString(35, 11)}`,
  jwt: `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: '1234567890', name: 'a user', iat: 1516239022 })}.${randomString(43, 12)}`,
};

describe('scanLine finds real-looking secrets', () => {
  it.each([
    ['aws_access_key_id', `aws_access_key_id = ${samples.aws_access_key_id}`],
    ['github_token', `const token = process.env.X ?? "${samples.github_token}";`],
    ['github_token', `GH=${samples.github_pat}`],
    ['slack_token', `slack: ${samples.slack_token}`],
    ['stripe_live_key', `Stripe(${JSON.stringify(samples.stripe_live_key)})`],
    ['openai_api_key', `OPENAI_API_KEY=${samples.openai_api_key}`],
    ['anthropic_api_key', `ANTHROPIC_API_KEY=${samples.anthropic_api_key}`],
    ['google_api_key', `const maps = '${samples.google_api_key}'`],
    ['jwt', `Authorization: Bearer ${samples.jwt}`],
    ['private_key', '-----BEGIN RSA PRIVATE KEY-----'],
    ['private_key', '-----BEGIN OPENSSH PRIVATE KEY-----'],
    ['generic_secret_assignment', `db_password = "${randomString(20, 13)}"`],
    ['generic_secret_assignment', `  "clientSecret": "${randomString(32, 14)}",`],
    ['generic_secret_assignment', `API_KEY := '${randomString(24, 15)}'`],
  ])('%s in %s', (rule, line) => {
    const found = scanLine('src/config.ts', line);
    expect(found.map((f) => f.rule)).toEqual([rule]);
  });

  it('never puts the secret into the evidence: each value is masked to its public prefix and length', () => {
    for (const value of Object.values(samples)) {
      const [finding] = scanLine('src/config.ts', `key = ${value} # and more`);
      expect(finding).toBeDefined();
      expect(finding!.excerpt).not.toContain(value);
      // Not even a long piece of it: no 8 characters of the value's body survive.
      expect(finding!.excerpt).not.toContain(value.slice(-8));
      expect(finding!.excerpt).toMatch(new RegExp(`\\[redacted ${value.length} chars\\] # and more$`));
    }
  });

  it('masks every secret on a line, also when two rules match on it', () => {
    const line = `a=${samples.github_token} b=${samples.openai_api_key}`;
    const found = scanLine('src/a.ts', line);
    expect(found.map((f) => f.rule)).toEqual(['github_token', 'openai_api_key']);
    for (const f of found) {
      expect(f.excerpt).not.toContain(samples.github_token!.slice(4, 20));
      expect(f.excerpt).not.toContain(samples.openai_api_key!.slice(8, 24));
    }
  });

  it('a secret-looking literal in a doc file counts unless its line marks it as an example', () => {
    expect(scanLine('docs/setup.md', `export GITHUB_TOKEN=${samples.github_token}`)).toHaveLength(1);
    expect(scanLine('README.md', `Example: export GITHUB_TOKEN=${samples.github_token}`)).toEqual([]);
    // The marker means nothing in code.
    expect(scanLine('src/a.ts', `// example ${samples.github_token}`)).toHaveLength(1);
  });
});

describe('scanLine ignores look-alikes', () => {
  it.each([
    'OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'ANTHROPIC_API_KEY=sk-ant-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'const token = process.env.GITHUB_TOKEN;',
    'password = process.env.DB_PASSWORD',
    'const apiKey = "${API_KEY}";',
    'token: "{{ secrets.GITHUB_TOKEN }}"',
    'password = "changeme-changeme"',
    'api_key = "<your-api-key-here>"',
    'secret = "aaaaaaaaaaaaaaaaaaaa"',
    'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE',
    'ghp_000000000000000000000000000000000000',
    'const tokenizer = new Tokenizer(options);',
    'password: z.string().min(12)',
    'passwordField = "passwordInput"',
    'const s = "sk-learn is a library"',
    'eyJhbGciOiJIUzI1NiJ9 is where a JWT starts',
    '-----BEGIN PUBLIC KEY-----',
    'integrity: "sha512-abc"',
  ])('%s', (line) => {
    expect(scanLine('src/config.ts', line)).toEqual([]);
  });

  it('a JWT-shaped value whose header is not JSON with an algorithm is not a JWT', () => {
    const fake = `eyJ${randomString(20, 16)}.eyJ${randomString(20, 17)}.${randomString(30, 18)}`;
    expect(scanLine('src/a.ts', `x = ${fake}`)).toEqual([]);
  });
});

describe('entropy', () => {
  it('separates random tokens from repeated or word-like strings', () => {
    expect(entropy('aaaaaaaa')).toBe(0);
    expect(entropy(randomString(40, 19))).toBeGreaterThan(4.5);
    expect(entropy('passwordInput')).toBeLessThan(3.5);
  });
});
