/** A history question (what `git log` is asked) and the walks that answer it. */

export interface HistoryQuery {
  include: string[];
  exclude: string[];
  firstParent: boolean;
  topo: boolean;
  /** git --since/--after, seconds: commits committed before it are dropped. */
  since: number | null;
  /** git --until/--before, seconds: commits committed after it are hidden. */
  until: number | null;
  /** Literal pathspecs without leading/trailing slashes; [] for no limiting. */
  paths: string[];
  /** git --author: matched against "Name <email>" of the author line. */
  author: AuthorMatcher | null;
}

/** Matches an author line; linear-time, like git's POSIX regex (no catastrophic backtracking). */
export interface AuthorMatcher {
  source: string;
  test(text: string): boolean;
}

/** What the commits endpoints need of a walk: pages of the listing, in order. */
export interface Listing {
  page(offset: number, limit: number): Promise<string[]>;
  all(): Promise<string[]>;
  /** The walk's weight in the walk cache: an estimate of the bytes its state holds. */
  readonly bytes: number;
}

