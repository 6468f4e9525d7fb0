import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { RepositoryDamagedError } from '../damage.js';
import { isObjectType } from '../objects.js';
import type { RawObject } from './object-db.js';

/**
 * A loose object (objects/xx/yyyy…: zlib of "<type> <size>\0<content>"), or null when absent.
 * One that is there must inflate, carry a known type and the size of its content, and hash to
 * its name (git checks the last when it parses an object): anything else is damage, never
 * "not found".
 */
export function readLooseObject(objectsDir: string, hex: string): RawObject | null {
  const rel = `objects/${hex.slice(0, 2)}/${hex.slice(2)}`;
  const name = path.join(objectsDir, hex.slice(0, 2), hex.slice(2));
  let file: Buffer;
  try {
    // A miss (the common case in a packed repository) costs a stat, not a thrown error.
    if (!fs.statSync(name, { throwIfNoEntry: false })) return null;
    file = fs.readFileSync(name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new RepositoryDamagedError(`${rel} cannot be read (${code ?? 'error'})`);
  }
  const damaged = (problem: string) => new RepositoryDamagedError(`loose object ${rel} is damaged: ${problem}`);
  if (file.length === 0) throw damaged('the file is empty');
  let data: Buffer;
  try {
    data = zlib.inflateSync(file);
  } catch (err) {
    throw damaged(`it does not inflate (${(err as { code?: string }).code ?? (err as Error).message})`);
  }
  const nul = data.indexOf(0);
  const header = nul > 0 && nul <= 32 ? data.toString('latin1', 0, nul) : '';
  const m = /^([a-z]+) (\d+)$/.exec(header);
  if (!m || !isObjectType(m[1])) throw damaged('no valid object header');
  if (Number(m[2]) !== data.length - nul - 1) throw damaged(`its header says ${m[2]} bytes, it holds ${data.length - nul - 1}`);
  if (createHash('sha1').update(data).digest('hex') !== hex) throw damaged('its content does not hash to its name');
  return { type: m[1], data: data.subarray(nul + 1) };
}

/** Whether the loose object file exists (without reading it). */
export function hasLooseObject(objectsDir: string, hex: string): boolean {
  return fs.existsSync(path.join(objectsDir, hex.slice(0, 2), hex.slice(2)));
}

/** Loose objects whose oid starts with the hex `prefix` (at least 2 characters). */
export function looseWithPrefix(objectsDir: string, prefix: string): string[] {
  const out: string[] = [];
  const dir = path.join(objectsDir, prefix.slice(0, 2));
  // A packed repository has few of these folders: a failed listing costs an exception built.
  if (!fs.existsSync(dir)) return out;
  try {
    for (const name of fs.readdirSync(dir)) {
      const oid = prefix.slice(0, 2) + name;
      if (oid.startsWith(prefix) && /^[0-9a-f]{40}$/.test(oid)) out.push(oid);
    }
  } catch {
    /* no loose directory */
  }
  return out;
}
