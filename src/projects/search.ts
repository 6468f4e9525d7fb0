/**
 * Gitlab::SQL::Pattern's fuzzy search: every word of three characters or more (a quoted phrase
 * is one word) must occur in one column, case-insensitively; a query with no such word must
 * equal a column exactly.
 */
export function searchMatcher(query: string): (columns: string[]) => boolean {
  const squished = query.trim().replace(/\s+/g, ' ');
  const words = (squished.match(/"[^"]+"|[^\s"]+/g) ?? []).map((w) => w.replace(/^"|"$/g, '').toLowerCase()).filter((w) => w.length >= 3);
  if (words.length === 0) return (columns) => columns.includes(squished);
  return (columns) => columns.some((column) => {
    const text = column.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/**
 * searchMatcher's test for columns already lower-cased (GET /projects keeps its projects' names
 * lower-cased between requests), or null when the query has no word of three characters or
 * more: then a column must equal it exactly, as searchMatcher tests.
 */
export function lowerCaseMatcher(query: string): ((lowered: string[]) => boolean) | null {
  const words = queryWords(query);
  if (words.length === 0) return null;
  return (lowered) => lowered.some((text) => words.every((w) => text.includes(w)));
}

/** The query's words of three characters or more (a quoted phrase is one word), lower-cased. */
export function queryWords(query: string): string[] {
  const squished = query.trim().replace(/\s+/g, ' ');
  return (squished.match(/"[^"]+"|[^\s"]+/g) ?? []).map((w) => w.replace(/^"|"$/g, '').toLowerCase()).filter((w) => w.length >= 3);
}
