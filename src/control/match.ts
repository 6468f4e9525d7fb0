/**
 * The path patterns of the control plane (the journal's `path` filter and a fault's
 * `match.path`): with a `*` it is a glob over the path as the client sent it (still
 * percent-encoded, so `demo%2Fhello` is one segment), `*` within one segment and `**` across
 * segments; without one it is a prefix.
 */
export function pathMatcher(pattern: string): (path: string) => boolean {
  if (!pattern.includes('*')) return (path) => path.startsWith(pattern);
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`);
  return (path) => re.test(path);
}

/** A request as the control plane matches it: its method and its path without the query. */
export interface RequestKey {
  method: string;
  path: string;
}

/** `method` (any case) and `path` (see pathMatcher); an absent one matches everything. */
export function requestMatcher(match: { method?: string; path?: string }): (request: RequestKey) => boolean {
  const method = match.method?.toUpperCase();
  const path = match.path === undefined ? () => true : pathMatcher(match.path);
  return (request) => (method === undefined || request.method.toUpperCase() === method) && path(request.path);
}
