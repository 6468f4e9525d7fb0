import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Worker } from 'node:worker_threads';
import type tarStreamModule from 'tar-stream';
import type { Header } from 'tar-stream';
import type yazlModule from 'yazl';
import { lazyModule } from '../../util/lazy-module.js';
import type { ArchiveEntry } from './entries.js';

const tarStream = lazyModule<typeof tarStreamModule>('tar-stream');
const yazl = lazyModule<typeof yazlModule>('yazl');

type TarHeaders = Partial<Header> & { name: string };

/** The container formats `git archive` writes; the compression is applied on top of the tar. */
export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.bz2' | 'zip';

export interface ArchiveOptions {
  format: ArchiveFormat;
  /** The top-level directory every entry sits under (no trailing '/'). */
  prefix: string;
  /** The commit's committer time, every entry's mtime (as git archive stamps them). */
  mtime: Date;
  /** The commit's id: git archive writes it as the zip's comment (archive-zip.c, when given a commit). */
  commitId?: string;
}

/**
 * `git archive --format=<tar|zip> --prefix=<prefix>/` of the entries, streamed: a tar as git
 * writes it with its default `tar.umask` 002 (directories 0775, files 0664, executables 0775,
 * symlinks 0777, owner root/root, uid and gid 0), or a zip whose entries extract to the same tree
 * (git stores plain files and directories with DOS attributes, which unzip gives the user's
 * umask; here they carry 0644/0755, what that gives under the usual 022). The top-level
 * directory comes first, as in git. (git's tar also starts with a pax global header holding the
 * commit id, which tar-stream cannot write and extraction ignores: it is left out.) tar.gz is node's gzip; tar.bz2 is bzip2, one stream per
 * 100 kB block (a multi-stream file, which bzip2, tar and every bzip2 reader decode).
 */
export function writeArchive(entries: AsyncGenerator<ArchiveEntry>, options: ArchiveOptions): Readable {
  const out = new PassThrough();
  const fail = (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err)));
  if (options.format === 'zip') {
    const zip = new (yazl().ZipFile)();
    zip.outputStream.pipe(out);
    const dir = (name: string) => zip.addEmptyDirectory(name, { mtime: options.mtime, mode: 0o40755 });
    (async () => {
      dir(`${options.prefix}/`);
      for await (const e of entries) {
        const name = `${options.prefix}/${e.path}`;
        if (e.kind === 'directory') dir(name);
        else {
          const data = await e.read();
          const mode = e.kind === 'symlink' ? 0o120777 : e.executable ? 0o100755 : 0o100644;
          zip.addBuffer(data, name, { mtime: options.mtime, mode, compress: e.kind !== 'symlink' });
        }
        // Keep at most about one blob ahead of the client.
        if (out.writableNeedDrain) await new Promise((resolve) => {
          out.once('drain', resolve);
          out.once('close', resolve);
        });
        if (out.destroyed) return;
      }
      zip.end({ forceZip64Format: false, comment: options.commitId ?? '' });
    })().catch(fail);
    return out;
  }
  const pack = tarStream().pack();
  const header = { mtime: options.mtime, uname: 'root', gname: 'root', uid: 0, gid: 0 };
  (async () => {
    const put = (h: TarHeaders, data?: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const done = (err?: Error | null) => (err ? reject(err) : resolve());
        if (data) pack.entry(h, data, done);
        else pack.entry(h, done);
      });
    await put({ ...header, name: `${options.prefix}/`, type: 'directory', mode: 0o775 });
    for await (const e of entries) {
      const name = `${options.prefix}/${e.path}`;
      if (e.kind === 'directory') await put({ ...header, name, type: 'directory', mode: 0o775 });
      else if (e.kind === 'symlink') await put({ ...header, name, type: 'symlink', mode: 0o777, linkname: (await e.read()).toString('utf8') });
      else await put({ ...header, name, type: 'file', mode: e.executable ? 0o775 : 0o664 }, await e.read());
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  // tar-stream's pack is a streamx stream: read it as an async iterable (which keeps backpressure).
  const tar = Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
  const done = options.format === 'tar.gz' ? pipeline(tar, createGzip(), out) : options.format === 'tar.bz2' ? pipeline(tar, bzip2(), out) : pipeline(tar, out);
  done.catch(fail);
  return out;
}

/** bzip2 block size (× 100 kB) and the input per block (compressjs's own block limit). */
const BZIP2_LEVEL = 1;
const BZIP2_BLOCK = BZIP2_LEVEL * 100_000 - 19;

/**
 * A bzip2 compressor: each block of input becomes one complete bzip2 stream, compressed in a
 * worker thread (one per archive) so the server keeps answering meanwhile.
 */
function bzip2(): Transform {
  const worker = new Worker(new URL('./bzip2-worker.js', import.meta.url));
  worker.unref();
  let pending: Buffer[] = [];
  let size = 0;
  let emitted = false;
  const compress = (block: Uint8Array) =>
    new Promise<Buffer>((resolve, reject) => {
      const onMessage = (out: Uint8Array) => {
        worker.off('error', onError);
        resolve(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
      };
      const onError = (err: Error) => {
        worker.off('message', onMessage);
        reject(err);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.postMessage({ block, level: BZIP2_LEVEL });
    });
  const drain = async (stream: Transform, all: boolean) => {
    let data = Buffer.concat(pending);
    pending = [];
    while (data.length >= BZIP2_BLOCK || (all && data.length > 0)) {
      const block = data.subarray(0, BZIP2_BLOCK);
      stream.push(await compress(new Uint8Array(block)));
      emitted = true;
      data = data.subarray(block.length);
    }
    if (all && !emitted) stream.push(await compress(new Uint8Array(0)));
    pending = data.length > 0 ? [data] : [];
    size = data.length;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      size += chunk.length;
      if (size < BZIP2_BLOCK) return callback();
      drain(this, false).then(() => callback(), callback);
    },
    flush(callback: TransformCallback) {
      drain(this, true).then(
        () => callback(),
        callback,
      );
    },
    destroy(err, callback) {
      void worker.terminate();
      callback(err);
    },
  }).on('end', () => void worker.terminate());
}
