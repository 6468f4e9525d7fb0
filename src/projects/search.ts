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
