import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** fakelab's data dir on disk, for the store durability and crash tests: every file parsed, the sidecar rows. */

export interface DataScan {
  /** Every non-temporary file, relative path → parsed JSON. */
  json: Map<string, unknown>;
  /** Files that do not parse, with the parser's message. */
  unparsable: { file: string; error: string }[];
  /** Leftover temporary files (`*.tmp`). */
  tmp: string[];
}

/** Reads every file under `dataDir`. */
export async function scanDataDir(dataDir: string): Promise<DataScan> {
  const scan: DataScan = { json: new Map(), unparsable: [], tmp: [] };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      const rel = path.relative(dataDir, full);
      if (entry.name.endsWith('.tmp')) {
        scan.tmp.push(rel);
        continue;
      }
      const text = await fsp.readFile(full, 'utf8');
      try {
        scan.json.set(rel, JSON.parse(text));
      } catch (err) {
        scan.unparsable.push({ file: rel, error: (err as Error).message });
      }
    }
  };
  await walk(dataDir);
  return scan;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Every status, pipeline and note row of the sidecar files of a scan. */
export function sidecarRows(scan: DataScan): { statuses: any[]; pipelines: any[]; notes: any[] } {
  const out = { statuses: [] as any[], pipelines: [] as any[], notes: [] as any[] };
  for (const [rel, data] of scan.json) {
    if (!rel.startsWith(`sidecar${path.sep}`)) continue;
    const record = data as { statuses?: any[]; pipelines?: any[]; notes?: any[] };
    out.statuses.push(...(record.statuses ?? []));
    out.pipelines.push(...(record.pipelines ?? []));
    out.notes.push(...(record.notes ?? []));
  }
  return out;
}
