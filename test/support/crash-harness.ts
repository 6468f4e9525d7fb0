import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Fixture } from '../../src/fixtures/builder.js';

/** Helpers for the store durability and crash tests: a lab fixture, a child fakelab, the data dir on disk. */

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

/** `count` commits on main of project `projectPath`, labelled c0..c<count-1>. */
export function linearFixture(projectPath: string, count: number): Fixture {
  return {
    path: projectPath,
    default_branch: 'main',
    people: { t: { name: 'Tess Tester', email: 'tess@example.com' } },
    commits: Array.from({ length: count }, (_, i) => ({
      id: `c${i}`,
      branch: 'main',
      author: 't',
      date: new Date(Date.UTC(2024, 4, 1) + i * 60_000).toISOString().replace(/\.000Z$/, 'Z'),
      message: `Commit ${i}\n`,
      files: { 'counter.txt': `${i}\n` },
    })),
  };
}

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChildServer {
  child: ChildProcess;
  url: string;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
}

/** The environment without the outer shell's FAKELAB_* variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAKELAB_')) env[k] = v;
  return env;
}

/** `node dist/src/cli.js --repos R --data D --port 0 --token T --log-level silent`, resolved once it listens. */
export async function spawnFakelab(reposDir: string, dataDir: string, token: string): Promise<ChildServer> {
  const child = spawn(process.execPath, [CLI, '--repos', reposDir, '--data', dataDir, '--port', '0', '--token', token, '--log-level', 'silent'], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fakelab did not listen within 20 s:\n${stdout}\n${stderr}`)), 20_000);
    const onData = () => {
      const m = /fakelab listening on (\S+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`fakelab exited (${e.code ?? e.signal}) before listening:\n${stdout}\n${stderr}`));
    });
  });
  return { child, url, pid: child.pid!, exited, output: () => ({ stdout, stderr }) };
}

/** SIGKILL by the child's own pid; resolves when it is gone. */
export async function killHard(server: ChildServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}

/** SIGTERM by the child's own pid (graceful stop); resolves when it is gone. */
export async function stopGracefully(server: ChildServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
  await server.exited;
}

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
