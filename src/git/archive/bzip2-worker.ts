import { parentPort } from 'node:worker_threads';
import compressjs from 'compressjs';

/**
 * Compresses blocks for the archive writer off the event loop: each message is a block of
 * input, each answer one complete bzip2 stream of it (compressjs is synchronous and slow on
 * repetitive text: seconds for a few MB).
 */
parentPort!.on('message', (message: { block: Uint8Array; level: number }) => {
  const out = compressjs.Bzip2.compressFile(message.block, undefined, message.level);
  parentPort!.postMessage(out, [out.buffer as ArrayBuffer]);
});
