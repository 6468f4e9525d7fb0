/**
 * Seeded random text pairs for differential tests of the line diff (test/git/xdiff.test.ts):
 * an "old" text in one of several styles and a "new" text made from it by block edits.
 */

/** mulberry32: a small, fast, seedable PRNG (also the seeded tests' randomness: store durability, random cherry-picks). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** A size skewed towards small values, up to max. */
  size(max: number): number {
    const r = this.next();
    return Math.floor(r * r * r * (max + 1));
  }
}

const WORDS = ['foo', 'bar', 'baz', 'qux', 'value', 'result', 'item', 'count', 'index', 'name', 'data', 'err', 'ctx', 'node', 'list'];
const TYPES = ['int', 'char *', 'long', 'void', 'struct foo *', 'const char *'];

/** Lines from a tiny alphabet: lots of repeats, blank lines and braces. */
function tinyLines(r: Random, n: number): string[] {
  const alphabet = r.pick([
    ['a', 'b', 'c'],
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', ''],
    ['', '}', '{', '\treturn 0;', 'x'],
    ['x', 'y', '', '', ' ', '  z'],
  ]);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.pick(alphabet));
  return out;
}

let counter = 0;

function statement(r: Random, depth: number): string {
  const ind = '\t'.repeat(depth);
  const w = () => r.pick(WORDS);
  switch (r.int(0, 7)) {
    case 0:
      return `${ind}${w()} = ${w()}(${w()}, ${r.int(0, 9)});`;
    case 1:
      return `${ind}if (!${w()})`;
    case 2:
      return `${ind}return ${w()};`;
    case 3:
      return `${ind}/* ${w()} ${w()} ${w()} */`;
    case 4:
      return `${ind}${w()}++;`;
    case 5:
      return '';
    case 6:
      return `${ind}${w()}->${w()} = ${counter++ % 50};`;
    default:
      return `${ind}free(${w()});`;
  }
}

/**
 * Lines that stress the indent heuristic: blank and whitespace-only lines (including CR, form
 * feed and vertical tab, which git does not count as whitespace), mixed tab/space indentation,
 * indentation beyond git's cap of 200 columns and runs of more than 20 blank lines.
 */
function whitespaceLines(r: Random, n: number): string[] {
  const out: string[] = [];
  const shapes = ['', '', ' ', '\t', ' \t ', '\r', '\f', '\v', 'x', 'y', '}', '\tx', '    x', '\t\ty', '   \tz', ' '.repeat(199) + 'a', ' '.repeat(200) + 'b', ' '.repeat(201) + 'c', ' '.repeat(205) + 'deep', '\t'.repeat(26) + 'deeper', '\f x', '\v\tx'];
  while (out.length < n) {
    if (r.chance(0.05)) for (let k = r.int(15, 30); k > 0; k--) out.push(r.pick(['', '', ' ', '\t']));
    else out.push(r.pick(shapes));
  }
  return out.slice(0, n);
}

/** C-, JS- or Python-like source with functions, nested blocks and blank lines. */
function codeLines(r: Random, n: number): string[] {
  const out: string[] = [];
  const style = r.int(0, 2);
  const indentUnit = r.pick(['\t', '    ', '  ']);
  while (out.length < n) {
    const name = `${r.pick(WORDS)}_${r.pick(WORDS)}${r.int(0, 30)}`;
    if (style === 0) out.push(`static ${r.pick(TYPES)} ${name}(${r.pick(TYPES)} ${r.pick(WORDS)})`, '{');
    else if (style === 1) out.push(`function ${name}(${r.pick(WORDS)}) {`);
    else out.push(`def ${name}(${r.pick(WORDS)}):`);
    const body = r.int(1, 15);
    let depth = 1;
    for (let i = 0; i < body && out.length < n; i++) {
      const s = statement(r, 0);
      out.push(s === '' ? '' : indentUnit.repeat(depth) + s);
      if (style !== 2 && r.chance(0.15) && depth < 4) {
        out.push(indentUnit.repeat(depth) + `for (${r.pick(WORDS)} = 0; ; ) {`);
        depth++;
      } else if (style !== 2 && depth > 1 && r.chance(0.3)) {
        depth--;
        out.push(indentUnit.repeat(depth) + '}');
      } else if (style === 2 && r.chance(0.2)) {
        depth = r.int(1, 3);
      }
    }
    if (style !== 2) {
      while (depth > 1) out.push(indentUnit.repeat(--depth) + '}');
      out.push(style === 0 ? '}' : '}');
    }
    if (r.chance(0.8)) out.push('');
    if (r.chance(0.2)) out.push('');
  }
  return out.slice(0, n);
}

/** Prose-ish lines: mostly unique, some repeated. */
function proseLines(r: Random, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (r.chance(0.1)) out.push('');
    else if (r.chance(0.1) && out.length > 0) out.push(r.pick(out));
    else out.push(Array.from({ length: r.int(1, 8) }, () => r.pick(WORDS)).join(' '));
  }
  return out;
}

export type Style = 'tiny' | 'code' | 'prose' | 'whitespace' | 'mixed';

export function randomLines(r: Random, n: number, style: Style): string[] {
  switch (style) {
    case 'tiny':
      return tinyLines(r, n);
    case 'code':
      return codeLines(r, n);
    case 'prose':
      return proseLines(r, n);
    case 'whitespace':
      return whitespaceLines(r, n);
    default: {
      const out: string[] = [];
      while (out.length < n) {
        const k = Math.min(n - out.length, r.int(1, 40));
        out.push(...randomLines(r, k, r.pick(['tiny', 'code', 'prose'] as const)));
      }
      return out;
    }
  }
}

/** Applies `count` random block edits: insert, delete, replace, move, duplicate. */
export function editLines(r: Random, lines: string[], count: number, style: Style): string[] {
  const out = lines.slice();
  for (let e = 0; e < count; e++) {
    const len = () => r.pick([1, 1, 1, 2, 3, 4, 5, 8, 15, 30]);
    const at = r.int(0, out.length);
    switch (r.int(0, 5)) {
      case 0: // insert new lines
        out.splice(at, 0, ...randomLines(r, len(), style));
        break;
      case 1: // delete
        out.splice(at, len());
        break;
      case 2: // replace
        out.splice(at, len(), ...randomLines(r, len(), style));
        break;
      case 3: {
        // move a block
        const block = out.splice(at, len());
        out.splice(r.int(0, out.length), 0, ...block);
        break;
      }
      case 4: {
        // duplicate a block
        const block = out.slice(at, at + len());
        out.splice(r.int(0, out.length), 0, ...block);
        break;
      }
      default: {
        // small in-place modification of single lines
        for (let k = len(); k > 0 && out.length > 0; k--) {
          const i = r.int(0, out.length - 1);
          out[i] = r.chance(0.5) ? out[i] + ';' : r.pick(WORDS) + out[i];
        }
      }
    }
  }
  return out;
}

export interface TextPair {
  a: Buffer;
  b: Buffer;
  label: string;
}

function render(r: Random, lines: string[], eol: string, finalNewline: boolean): Buffer {
  if (lines.length === 0) return Buffer.alloc(0);
  let text = lines.join(eol);
  if (finalNewline) text += eol;
  return Buffer.from(text, 'utf8');
}

/** The i-th random pair of a seeded sequence. */
export function randomPair(seed: number, maxLines = 2000, styles: readonly Style[] = ['tiny', 'code', 'prose', 'mixed', 'code', 'tiny']): TextPair {
  const r = new Random(seed);
  const style = r.pick(styles);
  const n = r.size(maxLines);
  const a = randomLines(r, n, style);
  const edits = r.chance(0.1) ? 0 : r.int(1, r.chance(0.5) ? 3 : 25);
  const b = r.chance(0.03) ? randomLines(r, r.size(maxLines), style) : editLines(r, a, edits, style);
  const eol = r.chance(0.1) ? '\r\n' : '\n';
  const finalA = !r.chance(0.15);
  const finalB = r.chance(0.8) ? finalA : !finalA;
  return {
    a: render(r, a, eol, finalA),
    b: render(r, b, eol, finalB),
    label: `seed ${seed} (${style}, ${a.length} -> ${b.length} lines, ${edits} edits)`,
  };
}

/**
 * A pair whose differences are sliders: blocks duplicated or deleted next to an identical block,
 * in code-like or whitespace-heavy surroundings, sometimes inside long runs of equal lines (so a
 * group can slide further than the indent heuristic looks).
 */
export function sliderPair(seed: number): TextPair {
  const r = new Random(seed);
  const style = r.pick(['code', 'whitespace', 'tiny', 'code'] as const);
  const a = randomLines(r, r.int(5, 80), style);
  if (r.chance(0.15)) {
    const run = Array.from({ length: r.int(100, 260) }, () => r.pick(['', '\tx', 'x']));
    a.splice(r.int(0, a.length), 0, ...(r.chance(0.5) ? run : run.map(() => run[0])));
  }
  const b = a.slice();
  for (let k = r.int(1, 3); k > 0; k--) {
    const len = r.chance(0.1) ? r.int(90, 140) : r.int(1, 6);
    const at = r.int(0, Math.max(0, b.length - 1));
    if (r.chance(0.5)) b.splice(at, 0, ...b.slice(at, at + len));
    else if (at + 2 * len <= b.length && b.slice(at, at + len).join('\n') === b.slice(at + len, at + 2 * len).join('\n')) b.splice(at, len);
    else b.splice(at + len, 0, ...b.slice(at, at + len));
  }
  const [x, y] = r.chance(0.5) ? [a, b] : [b, a];
  return { a: render(r, x, '\n', true), b: render(r, y, '\n', true), label: `slider seed ${seed} (${style}, ${x.length} -> ${y.length} lines)` };
}

/**
 * A pair made mostly of lines unique to each side, with lines that occur very often in both
 * (blank lines, braces) in between at a density near the pre-pass's threshold, and a few shared
 * lines: exercises which ambiguous lines the pre-pass drops.
 */
export function ambiguousPair(seed: number): TextPair {
  const r = new Random(seed);
  const density = 0.1 + r.next() * 0.35;
  const common = Array.from({ length: 30 }, (_, i) => `shared ${i}`);
  const gen = (tag: string, n: number) => {
    const out: string[] = [];
    let run = 0;
    for (let i = 0; i < n; i++) {
      if (r.chance(0.003 + (run > 150 ? 0.02 : 0))) {
        out.push(r.pick(common));
        run = 0;
      } else if (r.chance(density)) out.push(r.pick(['', '}', '', '\treturn;']));
      else out.push(`${tag} ${i}`);
      run++;
    }
    return out;
  };
  const n = r.int(50, 1500);
  const a = gen('old', n);
  const b = r.chance(0.5) ? gen('new', r.int(50, 1500)) : a.map((l) => (l.startsWith('old') && r.chance(0.7) ? 'new' + l.slice(3) : l));
  return { a: render(r, a, '\n', true), b: render(r, b, '\n', true), label: `ambiguous seed ${seed} (density ${density.toFixed(2)}, ${a.length} -> ${b.length} lines)` };
}

/**
 * A random pair with the same block of lines (over 1 KiB, usually) appended to both sides: with
 * -U0 git drops the common tail in 1 KiB blocks before diffing, which changes line counts for the
 * pre-pass and where changes may slide; numstat does not.
 */
export function commonTailPair(seed: number): TextPair {
  const p = seed % 2 ? randomPair(seed, 600) : ambiguousPair(seed);
  const r = new Random(seed);
  const tail = Buffer.from(randomLines(r, r.int(50, 400), r.pick(['tiny', 'code', 'prose'] as const)).join('\n') + '\n');
  const terminated = (x: Buffer) => (x.length > 0 && x[x.length - 1] !== 10 ? Buffer.concat([x, Buffer.from('\n')]) : x);
  return { a: Buffer.concat([terminated(p.a), tail]), b: Buffer.concat([terminated(p.b), tail]), label: `common tail seed ${seed} (${tail.length} bytes) on ${p.label}` };
}
