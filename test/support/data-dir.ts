import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { decodeRecords, encodeEntry, replayJournal } from '../../src/store/journal.js';

/** fakelab's data dir on disk, for the store durability and crash tests: every file parsed, the sidecar rows. */

export interface DataScan {
  /** Every non-temporary file, relative path → parsed JSON (a commit journal → the record it holds; a record log → its records; JSON lines → an array of them). */
  json: Map<string, unknown>;
  /** Files that do not parse, with the parser's message. */
  unparsable: { file: string; error: string }[];
  /** Leftover temporary files (`*.tmp`). */
  tmp: string[];
}

/** Files of journal records that are not a commit's journal: the hook delivery log and the hooks' spilled queues. */
function isRecordLog(rel: string): boolean {
  return rel === 'hook-deliveries.log' || rel.split(path.sep)[0] === 'hook-queue';
}

/** The push hooks' folder (a script and its socket, made anew at every start) holds no state. */
const PUSH_HOOKS = 'push-hooks';

/** Each line of a JSON lines file, parsed; the file must end with a newline. */
function jsonLines(data: Buffer): unknown[] {
  const text = data.toString('utf8');
  if (!text.endsWith('\n')) throw new Error('the last line is cut short');
  return text.slice(0, -1).split('\n').map((line) => JSON.parse(line));
}

/** Reads every file under `dataDir` but the push hooks'. */
export async function scanDataDir(dataDir: string): Promise<DataScan> {
  const scan: DataScan = { json: new Map(), unparsable: [], tmp: [] };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir === dataDir && entry.name === PUSH_HOOKS) continue;
        await walk(full);
        continue;
      }
      const rel = path.relative(dataDir, full);
      if (entry.name.endsWith('.tmp')) {
        scan.tmp.push(rel);
        continue;
      }
      const data = await fsp.readFile(full);
      try {
        scan.json.set(rel, entry.name.endsWith('.journal') ? replayJournal(data).rows : isRecordLog(rel) ? decodeRecords(data, () => null).entries : entry.name.endsWith('.jsonl') ? jsonLines(data) : JSON.parse(data.toString('utf8')));
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

/** The commit record a sidecar journal holds (a torn tail dropped; damage throws). */
export async function readJournal(file: string): Promise<{ pipelines: any[]; statuses: any[]; notes: any[] }> {
  return replayJournal(await fsp.readFile(file)).rows as any;
}

/** Replaces a journal by one holding `record` (as a compaction writes it): an edit made behind fakelab's back. */
export async function writeJournal(file: string, record: { pipelines?: any[]; statuses?: any[]; notes?: any[] }): Promise<void> {
  await fsp.writeFile(file, encodeEntry({ snapshot: record as any }));
}

/** Where the store keeps the record of one commit. */
export function journalFile(dataDir: string, projectId: number, sha: string): string {
  return path.join(dataDir, 'sidecar', String(projectId), sha.slice(0, 2), `${sha}.journal`);
}
