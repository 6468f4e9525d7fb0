import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A pino logger whose lines (JSON text, one per entry) the test can read. */
export function capturedLogger(level = 'warn'): { logger: Logger; lines: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level }, sink) as unknown as Logger, lines: () => lines };
}
