import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { isObjectType } from '../objects.js';
import type { RawObject } from './object-db.js';

/** A loose object (objects/xx/yyyy…: zlib of "<type> <size>\0<content>"), or null when absent. */
export function readLooseObject(objectsDir: string, hex: string): RawObject | null {
  let file: Buffer;
  try {
    file = fs.readFileSync(path.join(objectsDir, hex.slice(0, 2), hex.slice(2)));
  } catch {
    return null;
  }
  const data = zlib.inflateSync(file);
  const nul = data.indexOf(0);
  const [kind] = data.subarray(0, nul).toString('latin1').split(' ');
  if (!isObjectType(kind)) return null;
  return { type: kind, data: data.subarray(nul + 1) };
}

/** Loose objects whose oid starts with the hex `prefix` (at least 2 characters). */
export function looseWithPrefix(objectsDir: string, prefix: string): string[] {
  const out: string[] = [];
  try {
    for (const name of fs.readdirSync(path.join(objectsDir, prefix.slice(0, 2)))) {
      const oid = prefix.slice(0, 2) + name;
      if (oid.startsWith(prefix) && /^[0-9a-f]{40}$/.test(oid)) out.push(oid);
    }
  } catch {
    /* no loose directory */
  }
  return out;
}
