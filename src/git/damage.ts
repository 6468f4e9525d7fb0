/**
 * A repository whose files do not hold what git would have written: a truncated or garbled pack
 * index, pack, loose object or commit-graph, a missing object that another names. `problem`
 * says what, naming files relative to the git directory only (it goes into HTTP answers).
 */
export class RepositoryDamagedError extends Error {
  constructor(readonly problem: string) {
    super(problem);
  }
}

/** Told (at most once per distinct problem) what is damaged in a repository: its host logs it. */
export type DamageReporter = (problem: string) => void;

/** The reason of a low-level failure (zlib, a bounds check), without anything that names a path. */
export function reasonOf(err: unknown): string {
  if (err instanceof RepositoryDamagedError) return err.problem;
  const e = err as { code?: string; message?: string };
  const message = String(e?.message ?? err).replace(/(?:\/[^\s'"]+)+/g, '<path>');
  return e?.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}
