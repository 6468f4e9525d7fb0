import { promises as fsp } from 'node:fs';

/**
 * Reads a whole file off the event loop in one request to the thread pool where possible.
 * fs.promises.readFile reads in 512 KiB chunks, one thread-pool round trip each: for a 23 MB
 * pack index that is ~45 hops, each of which waits behind whatever else the loop is doing.
 */
export async function readWholeFile(file: string): Promise<Buffer> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.allocUnsafeSlow(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
