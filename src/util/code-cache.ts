import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { writeFileAtomic } from './atomic-file.js';

/**
 * V8's code cache for a CommonJS file (the CLI's bundle): the bytecode of every function a
 * training run compiled, so that a new process neither parses the whole file nor compiles each
 * function on its first call (tools/train-code-cache.mjs trains and writes it at build time;
 * cli-launcher.ts loads the bundle with it).
 *
 * V8 checks a cache's V8 version, flags and the source's *length* only, and in release builds
 * not the payload's integrity: a cache of another source of the same length, or a damaged one,
 * would run wrong bytecode or crash. So the file carries SHA-256 digests of the source it was
 * made from and of its own payload, and anything that does not match is compiled from source.
 */
export type CodeCacheState =
  /** V8 used the cache. */
  | 'accepted'
  /** V8 refused it (another node, or other V8 flags than the training run's). */
  | 'rejected'
  /** Made from another version of the source. */
  | 'stale'
  /** Truncated or altered. */
  | 'damaged'
  /** No cache file. */
  | 'absent';

const MAGIC = Buffer.from('fakelab code cache 1\n');
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + 2 * DIGEST_BYTES;

const sha256 = (bytes: Uint8Array): Buffer => crypto.createHash('sha256').update(bytes).digest();

export interface CompiledCommonJs {
  readonly file: string;
  readonly script: vm.Script;
  readonly state: CodeCacheState;
  /** The source's bytes, as the cache's digest covers them. */
  readonly sourceBytes: Buffer;
}

/** The payload of `cacheFile` if it was made from `sourceBytes` and is whole, else why not. */
function readCodeCache(cacheFile: string, sourceBytes: Uint8Array): { state: 'absent' | 'stale' | 'damaged' } | { state: 'usable'; payload: Buffer } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(cacheFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    throw err;
  }
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return { state: 'damaged' };
  const sourceDigest = bytes.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES);
  const payloadDigest = bytes.subarray(MAGIC.length + DIGEST_BYTES, HEADER_BYTES);
  const payload = bytes.subarray(HEADER_BYTES);
  if (!sha256(payload).equals(payloadDigest)) return { state: 'damaged' };
  if (!sha256(sourceBytes).equals(sourceDigest)) return { state: 'stale' };
  return { state: 'usable', payload };
}

/**
 * Compiles the CommonJS file `file` as Node's loader would (the same wrapper function, so line
 * numbers and stack traces are the file's), with the cache in `cacheFile` when it is usable.
 */
export function compileCommonJs(file: string, cacheFile: string): CompiledCommonJs {
  const sourceBytes = fs.readFileSync(file);
  const cache = readCodeCache(cacheFile, sourceBytes);
  let source = sourceBytes.toString('utf8');
  // A hashbang is only valid as a file's first characters; inside the wrapper it becomes a comment.
  if (source.startsWith('#!')) source = `//${source.slice(2)}`;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    // Without importModuleDynamically (experimental in node 20): the file must not use import().
    cachedData: cache.state === 'usable' ? cache.payload : undefined,
  });
  const state = cache.state === 'usable' ? (script.cachedDataRejected ? 'rejected' : 'accepted') : cache.state;
  return { file, script, state, sourceBytes };
}

/** Runs a compiled CommonJS file as a module of its own; returns its exports. */
export function runCommonJs(compiled: CompiledCommonJs): unknown {
  const run = compiled.script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as unknown, filename: compiled.file };
  run.call(module.exports, module.exports, createRequire(compiled.file), module, compiled.file, path.dirname(compiled.file));
  return module.exports;
}

/**
 * Writes the cache of a compiled file as it stands: every function compiled so far in this process,
 * under the V8 flags in force now (which a process loading the cache must then have at its compile).
 * Written whole or not at all.
 */
export async function writeCodeCache(compiled: CompiledCommonJs, cacheFile: string): Promise<number> {
  const payload = compiled.script.createCachedData();
  await writeFileAtomic(cacheFile, Buffer.concat([MAGIC, sha256(compiled.sourceBytes), sha256(payload), payload]));
  return payload.length;
}
