import zlib from 'node:zlib';

/**
 * Inflating a pack object with one zlib context for all of them.
 *
 * zlib.inflateSync builds a zlib stream per call (a native handle, inflateInit, a 32 KiB window)
 * and closes it again; for a 1 KiB commit that was two thirds of the inflate's cost: on git/git's
 * 82k commits, 22 µs an object against 9 µs with one context reset between objects. Node's public
 * API cannot reuse a context synchronously (a stream's sync path closes its handle when it is
 * done, and its write() is asynchronous), so this drives the native handle of one zlib.Inflate
 * directly, as Node's own zlib.inflateSync does. Those internals are checked when this module
 * loads (a round trip and a garbled stream); without them every call falls back to inflateSync.
 */

/** What inflateExactly reports when the data is not a zlib stream of `size` bytes. */
export class InflateError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface NativeZlib {
  reset(): void;
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

class ReusedInflater {
  private failure: InflateError | null = null;

  private constructor(
    private readonly handle: NativeZlib,
    /** [output bytes left, input bytes left] after each write, filled in by the handle. */
    private readonly state: Uint32Array,
    /** The stream object owns the handle: kept referenced so that it is never collected (and closed). */
    readonly owner: zlib.Inflate,
  ) {
    handle.onerror = (message, _errno, code) => {
      this.failure = new InflateError(message, code ?? 'Z_DATA_ERROR');
    };
  }

  static create(): ReusedInflater | null {
    try {
      const owner = new zlib.Inflate();
      const internals = owner as unknown as { _handle?: NativeZlib; _writeState?: unknown };
      const handle = internals._handle;
      const state = internals._writeState;
      if (!handle || typeof handle.writeSync !== 'function' || typeof handle.reset !== 'function' || !(state instanceof Uint32Array) || state.length < 2) return null;
      const inflater = new ReusedInflater(handle, state, owner);
      return inflater.selfTestPasses() ? inflater : null;
    } catch {
      return null;
    }
  }

  /** Round trips, a stream longer and one shorter than announced, and a garbled one, then a good one again. */
  private selfTestPasses(): boolean {
    const text = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A U Thor <a@example.com> 1 +0000\n\n'.repeat(40));
    const deflated = zlib.deflateSync(text);
    const fails = (run: () => unknown) => {
      try {
        run();
        return false;
      } catch (err) {
        return err instanceof InflateError;
      }
    };
    const garbled = Buffer.from(deflated);
    garbled[garbled.length >> 1] ^= 0xff;
    garbled[(garbled.length >> 1) + 1] ^= 0x5a;
    return (
      this.inflate(deflated, text.length).equals(text) &&
      fails(() => this.inflate(deflated, text.length - 1)) &&
      fails(() => this.inflate(deflated, text.length + 1)) &&
      fails(() => this.inflate(deflated.subarray(0, deflated.length - 8), text.length)) &&
      fails(() => this.inflate(garbled, text.length)) &&
      this.inflate(deflated, text.length).equals(text) &&
      this.inflate(zlib.deflateSync(Buffer.alloc(0)), 0).length === 0
    );
  }

  /**
   * The zlib stream at the start of `deflated` (bytes after its end are ignored), which must
   * inflate to exactly `size` bytes: into `into` (at least size + 1 bytes) when given.
   */
  inflate(deflated: Buffer, size: number, into?: Buffer): Buffer {
    this.failure = null;
    this.handle.reset();
    // One byte more than announced: a stream that fills it is longer than the header says.
    // A buffer of its own, not a slice of Node's shared 8 KiB pool: a cached 300-byte commit
    // sliced from the pool kept the whole slab alive (the object cache held 46 MiB of slabs for
    // 32 MiB of objects after a mixed run on git/git).
    const out = into ?? Buffer.allocUnsafeSlow(size + 1);
    this.handle.writeSync(zlib.constants.Z_FINISH, deflated, 0, deflated.length, out, 0, size + 1);
    if (this.failure) throw this.failure;
    const left = this.state[0];
    // With Z_FINISH zlib reports a stream that ends before its input is complete; one that ends
    // early leaves more than the spare byte unused.
    if (left !== 1) throw new InflateError(`inflates to ${left === 0 ? `more than ${size}` : size + 1 - left} bytes, its header says ${size}`, 'SIZE');
    inputTaken = deflated.length - this.state[1];
    return out.subarray(0, size);
  }
}

/** Deflated bytes the last successful inflateExactly took, up to the end of its stream (see inputTakenByLastInflate). */
let inputTaken = 0;

const reused = ReusedInflater.create();

/**
 * How many bytes of its input the last successful inflateExactly consumed: the packed data's
 * extent, which a pack index's CRC32 covers. Read right after the call (reads are synchronous).
 */
export function inputTakenByLastInflate(): number {
  return inputTaken;
}

/** Whether inflateExactly reuses one zlib context (false: Node's internals were not as expected). */
export const reusesInflateContext = reused !== null;

/**
 * Inflates an object whose size the pack header gave; InflateError (or zlib's own error) when the
 * data is not a complete zlib stream of exactly that size. `into`: where to inflate it when it is
 * big enough (size + 1 bytes), for data used and dropped right away (a delta's instructions);
 * otherwise the result has a buffer of its own.
 */
export function inflateExactly(deflated: Buffer, size: number, into?: Buffer): Buffer {
  // A big object (or a damaged header claiming one) goes through zlib's chunked output instead of one allocation of the claimed size.
  if (reused && size < MAX_INFLATE_CHUNK) return reused.inflate(deflated, size, into && into.length > size ? into : undefined);
  // zlib's default output chunk is 16 KiB and a one-chunk result is a view of it: every cached
  // 200-byte commit would pin 16 KiB. Sizing the chunk to the object avoids that; capped, so a
  // damaged header cannot make us allocate whatever size it claims up front. One byte more than
  // the header says is enough to see that the data does not match it.
  // `info` gives the engine, which says how much of the input the stream took.
  const { buffer: data, engine } = zlib.inflateSync(deflated, { info: true, chunkSize: Math.min(Math.max(64, size + 1), MAX_INFLATE_CHUNK), maxOutputLength: Math.max(1, size + 1) }) as unknown as { buffer: Buffer; engine: zlib.Inflate };
  inputTaken = engine.bytesWritten;
  if (data.length !== size) throw new InflateError(`inflates to ${data.length} bytes, its header says ${size}`, 'SIZE');
  return data;
}

const MAX_INFLATE_CHUNK = 16 * 1024 * 1024;
