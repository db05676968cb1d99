// Repository path globs, as the policy file writes them: `**` any depth, `*` and `?` within one
// segment, a trailing `/` a whole folder; a pattern without `/` matches a file name in any folder.
// Small on purpose (Node 20's path.matchesGlob is experimental and warns).

function globToRegExp(pattern: string): RegExp {
  const folder = pattern.endsWith('/');
  const body = folder ? `${pattern}**` : pattern;
  let source = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '*' && body[i + 1] === '*') {
      // `**/` is zero or more folders; a lone `**` is anything.
      if (body[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const anyFolder = !pattern.replace(/\/$/, '').includes('/');
  return new RegExp(`^${anyFolder && !folder ? '(?:.*/)?' : ''}${source}$`);
}

const compiled = new Map<string, RegExp>();

export function matchesGlob(path: string, pattern: string): boolean {
  let re = compiled.get(pattern);
  if (!re) compiled.set(pattern, (re = globToRegExp(pattern)));
  return re.test(path);
}

export const matchesAny = (path: string, patterns: readonly string[]) => patterns.some((p) => matchesGlob(path, p));
