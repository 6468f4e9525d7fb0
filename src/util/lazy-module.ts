import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use, synchronously, instead of when fakelab starts: YAML,
 * archives and multipart bodies are for a few requests, and their modules cost tens of
 * milliseconds of every start (issue 17: start-up under 0.5 s).
 */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
