import type { Signature } from '../git/index.js';

/** A git signature's time as GitLab writes it: milliseconds and the signature's own offset. */
export function gitDate(sig: Signature): string {
  const local = new Date((sig.timestamp + sig.offsetMinutes * 60) * 1000);
  const sign = sig.offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(sig.offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return local.toISOString().replace('Z', offset);
}

/**
 * Trailers as `git interpret-trailers --parse` finds them: the last paragraph, if every line in
 * it is a `Key: value` trailer (or a continuation), or at least a quarter of it when it holds a
 * git-generated one such as Signed-off-by.
 */
export function parseTrailers(message: string): [string, string][] {
  const paragraphs = message.replace(/\s+$/, '').split(/\n[ \t]*\n/);
  if (paragraphs.length < 2) return [];
  const lines = paragraphs[paragraphs.length - 1].split('\n');
  const trailers: [string, string][] = [];
  let trailerLines = 0;
  let generated = false;
  for (const line of lines) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$/.exec(line);
    if (m) {
      trailers.push([m[1], m[2].trim()]);
      trailerLines++;
      if (m[1] === 'Signed-off-by') generated = true;
    } else if (/^[ \t]/.test(line) && trailers.length > 0) {
      const last = trailers[trailers.length - 1];
      last[1] = `${last[1]} ${line.trim()}`.trim();
    } else if (line.startsWith('(cherry picked from commit ')) {
      generated = true;
    }
  }
  const nonTrailer = lines.filter((l) => !/^[ \t]/.test(l)).length - trailerLines;
  if (trailerLines === 0) return [];
  if (nonTrailer === 0 || (generated && trailerLines * 3 >= nonTrailer)) return trailers;
  return [];
}

/** The message's first line, or GitLab's placeholder for an empty message. */
export function fullTitle(message: string): string {
  if (message.trim() === '') return 'No commit message';
  return message.split(/[\r\n]/, 1)[0];
}

/** GitLab 8.x's title: cut near 100 characters. */
export function legacyTitle(message: string): string {
  if (message.trim() === '') return 'No commit message';
  const end = message.indexOf('\n');
  if ((end === -1 && message.length > 100) || end > 100) return `${[...message].slice(0, 80).join('')}…`;
  return message.split('\n', 1)[0];
}
