/**
 * src/git/diff/xdiff.ts against `git diff --no-index`: hand-made cases for each of git's rules, a few
 * thousand seeded random text pairs and some large inputs. Every expectation comes from git.
 *
 * Many pairs are compared per git process: the old and new texts are written as same-named files
 * into two directories and `git diff --no-index old new` diffs them all at once.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commonPrefixLength, commonSuffixLength, countNewlineBytes, diffHunks, lineCounts, unifiedBody, windowDiffs } from '../../src/git/diff/xdiff.js';
import { runGitAsync } from '../support/git.js';
import { ambiguousPair, commonTailPair, editLines, Random, randomLines, randomPair, sliderPair, type TextPair } from '../support/random-text.js';

const workDir = mkdtempSync(path.join(tmpdir(), 'fakelab-xdiff-'));
const homeDir = path.join(workDir, 'home');
mkdirSync(homeDir);

/** git in `cwd`, with no XDG config or attributes file either (git's defaults); exit 1 is `diff`'s "the texts differ". */
async function run(args: string[], cwd: string): Promise<Buffer> {
  const r = await runGitAsync(args, { cwd, env: { HOME: homeDir, XDG_CONFIG_HOME: homeDir }, binary: true });
  if (r.status !== 0 && r.status !== 1) throw new Error(`git ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

let batchNo = 0;

/** Writes the pairs as old/NNNNN.txt and new/NNNNN.txt and runs git once over both directories. */
async function gitBatch(pairs: TextPair[], args: string[]): Promise<string> {
  const dir = path.join(workDir, `batch-${batchNo++}`);
  mkdirSync(path.join(dir, 'old'), { recursive: true });
  mkdirSync(path.join(dir, 'new'));
  pairs.forEach((p, i) => {
    const name = `${String(i).padStart(5, '0')}.txt`;
    writeFileSync(path.join(dir, 'old', name), p.a);
    writeFileSync(path.join(dir, 'new', name), p.b);
  });
  try {
    return (await run(['diff', '--no-index', '--no-color', '--no-ext-diff', ...args, 'old', 'new'], dir)).toString('latin1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** git's hunk text (from the first '@@' on) for every pair; '' for equal texts. */
async function gitBodies(pairs: TextPair[], context = 3): Promise<string[]> {
  const out = await gitBatch(pairs, [`-U${context}`]);
  const bodies = pairs.map(() => '');
  const starts = [...out.matchAll(/^diff --git .*$/gm)];
  starts.forEach((m, k) => {
    const end = k + 1 < starts.length ? starts[k + 1].index : out.length;
    const section = out.slice(m.index, end);
    const idx = Number(/(\d+)\.txt/.exec(m[0])![1]);
    const at = section.indexOf('\n@@ ');
    if (at < 0) throw new Error(`no hunks for pair ${idx}: ${JSON.stringify(section.slice(0, 300))}`);
    bodies[idx] = section.slice(at + 1);
  });
  return bodies;
}

/** git's numstat for every pair. */
async function gitNumstat(pairs: TextPair[]): Promise<{ additions: number; deletions: number }[]> {
  const out = await gitBatch(pairs, ['--numstat']);
  const counts = pairs.map(() => ({ additions: 0, deletions: 0 }));
  for (const line of out.split('\n')) {
    if (!line) continue;
    const m = /^(\d+)\t(\d+)\t.*?(\d+)\.txt/.exec(line);
    if (!m) throw new Error(`unexpected numstat line ${JSON.stringify(line)}`);
    counts[Number(m[3])] = { additions: Number(m[1]), deletions: Number(m[2]) };
  }
  return counts;
}

/** Runs fn over chunks of items, `limit` at a time. */
async function inChunks<T, R>(items: T[], size: number, limit: number, fn: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  const results: R[][] = new Array(chunks.length);
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const i = next++;
      results[i] = await fn(chunks[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, chunks.length) }, worker));
  return results.flat();
}

const show = (s: string, max = 4000) => (s.length > max ? s.slice(0, max) + `\n... (${s.length} chars)` : s);

function describeMismatch(p: TextPair, expected: string, actual: string): string {
  const e = expected.split('\n');
  const a = actual.split('\n');
  let i = 0;
  while (i < e.length && i < a.length && e[i] === a[i]) i++;
  return [
    `xdiff differs from git for ${p.label}, first at output line ${i + 1}:`,
    `  git:    ${JSON.stringify(e[i])}`,
    `  xdiff:  ${JSON.stringify(a[i])}`,
    `--- old (${p.a.length} bytes) ---`,
    show(JSON.stringify(p.a.toString('latin1')), 2000),
    `--- new (${p.b.length} bytes) ---`,
    show(JSON.stringify(p.b.toString('latin1')), 2000),
    '--- git ---',
    show(expected),
    '--- xdiff ---',
    show(actual),
  ].join('\n');
}

/** Compares every pair with git; fails with the first mismatch, both outputs shown. */
async function expectSameAsGit(pairs: TextPair[], context = 3): Promise<void> {
  const expected = await inChunks(pairs, 250, 3, (chunk) => gitBodies(chunk, context));
  const mismatches: string[] = [];
  pairs.forEach((p, i) => {
    const actual = unifiedBody(p.a, p.b, context);
    if (actual !== expected[i]) mismatches.push(describeMismatch(p, expected[i], actual));
  });
  if (mismatches.length > 0) {
    expect.fail(`${mismatches.length} of ${pairs.length} pairs differ (-U${context}); the first:\n${mismatches[0]}`);
  }
}

async function expectSameNumstat(pairs: TextPair[]): Promise<void> {
  const expected = await inChunks(pairs, 250, 3, gitNumstat);
  const bad: string[] = [];
  pairs.forEach((p, i) => {
    const actual = lineCounts(p.a, p.b);
    if (actual.additions !== expected[i].additions || actual.deletions !== expected[i].deletions) {
      bad.push(`${p.label}: git ${JSON.stringify(expected[i])}, xdiff ${JSON.stringify(actual)}`);
    }
  });
  expect(bad, `${bad.length} numstat mismatches`).to.deep.equal([]);
}

// ---------------------------------------------------------------------------
// Hand-made cases

const text = (...lines: string[]) => Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');
const raw = (s: string) => Buffer.from(s, 'latin1');
const pair = (label: string, a: Buffer | string, b: Buffer | string): TextPair => ({
  label,
  a: typeof a === 'string' ? Buffer.from(a, 'utf8') : a,
  b: typeof b === 'string' ? Buffer.from(b, 'utf8') : b,
});
const numbered = (n: number, prefix = 'line') => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

function cFunction(name: string, body: string[]): string[] {
  return [`int ${name}(void)`, '{', ...body.map((l) => '\t' + l), '}'];
}

const handMade: TextPair[] = [
  // Empty sides and final newlines
  pair('empty old', '', 'a\nb\nc\n'),
  pair('empty new', 'a\nb\nc\n', ''),
  pair('empty old, new without final newline', '', 'a\nb'),
  pair('empty new, old without final newline', 'a\nb', ''),
  pair('old lacks final newline', 'a\nb\nc', 'a\nb\nc\n'),
  pair('new lacks final newline', 'a\nb\nc\n', 'a\nb\nc'),
  pair('both lack final newline, last line changed', 'a\nb\nc', 'a\nb\nd'),
  pair('both lack final newline, change above', '1\n2\n3\n4\n5\n6\n7\nend', '1\n2\nX\n4\n5\n6\n7\nend'),
  pair('both lack final newline, change near', '1\n2\n3\n4\nend', '1\n2\nX\n4\nend'),
  pair('single line without newline', 'a', 'b'),
  pair('only a newline', '\n', ''),
  pair('blank lines only', '\n\n\n', '\n\n\n\n\n'),
  // CRLF
  pair('CRLF change', 'a\r\nb\r\nc\r\n', 'a\r\nB\r\nc\r\n'),
  pair('CRLF vs LF', 'a\r\nb\r\nc\r\n', 'a\nb\nc\n'),
  pair('CR only', 'a\rb\rc\r', 'a\rb\rd\r'),
  pair('CRLF without final newline', 'a\r\nb\r', 'a\r\nc\r'),
  // Changes at the ends
  pair('change at line 1', text(...numbered(10)), text('first', ...numbered(10).slice(1))),
  pair('change at the last line', text(...numbered(10)), text(...numbered(10).slice(0, 9), 'last')),
  pair('insert at top', text(...numbered(10)), text('new', ...numbered(10))),
  pair('append at end', text(...numbered(10)), text(...numbered(10), 'new')),
  pair('delete everything but one', text(...numbered(10)), text('line 5')),
  // Merge vs split of hunks
  pair(
    'changes 6 lines apart (one hunk)',
    text(...numbered(30)),
    text(...numbered(30).map((l, i) => (i === 9 || i === 16 ? l + '!' : l))),
  ),
  pair(
    'changes 7 lines apart (two hunks)',
    text(...numbered(30)),
    text(...numbered(30).map((l, i) => (i === 9 || i === 17 ? l + '!' : l))),
  ),
  pair(
    'insertions 6 and 7 apart',
    text(...numbered(40)),
    text(...numbered(10), 'X', ...numbered(16).slice(10), 'Y', ...numbered(40).slice(16, 23), 'Z', ...numbered(40).slice(23)),
  ),
  // Sliders and the indent heuristic
  pair(
    'function inserted between two functions',
    text(...cFunction('a', ['return 1;']), '', ...cFunction('c', ['return 3;'])),
    text(...cFunction('a', ['return 1;']), '', ...cFunction('b', ['return 2;']), '', ...cFunction('c', ['return 3;'])),
  ),
  pair(
    'JS function inserted, shared closing lines',
    text('function a() {', '  if (x) {', '    y();', '  }', '}', '', 'function c() {', '  return 3;', '}'),
    text(
      'function a() {',
      '  if (x) {',
      '    y();',
      '  }',
      '}',
      '',
      'function b() {',
      '  if (x) {',
      '    y();',
      '  }',
      '}',
      '',
      'function c() {',
      '  return 3;',
      '}',
    ),
  ),
  pair(
    'block inserted into nested code',
    text('if (a) {', '\tfoo();', '}', '', 'if (b) {', '\tbar();', '}'),
    text('if (a) {', '\tfoo();', '}', '', 'if (c) {', '\tbaz();', '}', '', 'if (b) {', '\tbar();', '}'),
  ),
  pair('python def inserted', text('def a():', '    pass', '', 'def c():', '    pass'), text('def a():', '    pass', '', 'def b():', '    pass', '', 'def c():', '    pass')),
  pair('duplicate lines: insert one of many', text('x', 'x', 'x', 'x', 'y'), text('x', 'x', 'x', 'x', 'x', 'y')),
  pair('duplicate lines: delete one of many', text('a', 'x', 'x', 'x', 'x', 'b'), text('a', 'x', 'x', 'x', 'b')),
  pair('duplicated pair', text('a', 'b', 'a', 'b', 'c'), text('a', 'b', 'a', 'b', 'a', 'b', 'c')),
  pair('slide to align with other-side change', text('a', 'b', 'c', 'b', 'c', 'd'), text('a', 'b', 'c', 'X', 'd')),
  pair(
    'many blank lines and braces',
    text(...Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? '' : i % 3 === 1 ? '}' : `\tstmt${i};`))),
    text(...Array.from({ length: 44 }, (_, i) => (i % 3 === 0 ? '' : i % 3 === 1 ? '}' : `\tstmt${i % 7 === 0 ? i + 100 : i};`))),
  ),
  pair(
    'ambiguous lines among unmatched ones',
    text(...Array.from({ length: 200 }, (_, i) => (i % 2 ? '}' : `old ${i}`))),
    text(...Array.from({ length: 200 }, (_, i) => (i % 2 ? '}' : i % 10 === 0 ? `old ${i}` : `new ${i}`))),
  ),
  pair(
    'many blank lines between rewritten paragraphs',
    text(...Array.from({ length: 120 }, (_, i) => (i % 4 === 3 ? '' : `para ${Math.floor(i / 4)} line ${i}`))),
    text(...Array.from({ length: 120 }, (_, i) => (i % 4 === 3 ? '' : i % 8 < 4 ? `para ${Math.floor(i / 4)} line ${i}` : `rewritten ${i}`))),
  ),
  // Function lines in hunk headers
  pair('C function header', text(...cFunction('main', numbered(12))), text(...cFunction('main', numbered(12).map((l, i) => (i === 9 ? 'changed;' : l))))),
  pair(
    'JS header',
    text('export function handler(req, res) {', ...numbered(10).map((l) => '  ' + l), '}'),
    text('export function handler(req, res) {', ...numbered(10).map((l, i) => '  ' + (i === 8 ? 'x' : l)), '}'),
  ),
  pair('header line starting with $', text('$var = 1;', ...numbered(10)), text('$var = 1;', ...numbered(10).map((l, i) => (i === 7 ? 'x' : l)))),
  pair('header line starting with _', text('_private:', ...numbered(10)), text('_private:', ...numbered(10).map((l, i) => (i === 7 ? 'x' : l)))),
  pair('digits are not a function line', text('1234 start', ...numbered(10, ' ')), text('1234 start', ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  pair('indented line is not a function line', text('  indented', ...numbered(10, ' ')), text('  indented', ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  pair('tab-indented line is not a function line', text('\tindented', ...numbered(10, '#')), text('\tindented', ...numbered(10, '#').map((l, i) => (i === 7 ? 'x' : l)))),
  pair('header line with trailing blanks', text('func x   \t', ...numbered(10, ' ')), text('func x   \t', ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  pair('header line with CRLF', 'func x\r\n' + numbered(10, ' ').join('\r\n') + '\r\n', 'func x\r\n' + numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)).join('\r\n') + '\r\n'),
  pair('very long function line', text('f'.repeat(79) + 'XYZ long name here', ...numbered(10, ' ')), text('f'.repeat(79) + 'XYZ long name here', ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  pair('function line of exactly 80 bytes', text('g'.repeat(80), ...numbered(10, ' ')), text('g'.repeat(80), ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  pair('function line with spaces at byte 80', text('h'.repeat(78) + '     tail', ...numbered(10, ' ')), text('h'.repeat(78) + '     tail', ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  pair('function line truncated inside a UTF-8 character', text('u'.repeat(79) + 'é and more', ...numbered(10, ' ')), text('u'.repeat(79) + 'é and more', ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  ...[
    'f\xc3\xa9 ok',
    'f\xff ok',
    'f \xff',
    'f\t\xffx',
    'caf\xe9 x',
    'f\xc0\x80x',
    'f\xc1\xbfx',
    'f\xdf\xbfx',
    'f\xe0\x80\x80x',
    'f\xe0\xa0\x80x',
    'f\xed\xa0\x80x',
    'f\xef\xb7\x90x',
    'f\xef\xbf\xbex',
    'f\xef\xbf\xbfx',
    'f\xf0\x80\x80\x80x',
    'f\xf0\x90\x80\x80x',
    'f\xf0\x9f\xbf\xbex',
    'f\xf4\x8f\xbf\xbfx',
    'f\xf4\x90\x80\x80x',
    'f\xf5\x80\x80\x80x',
    'f\xf8\x88\x80\x80\x80x',
    'f\x80x',
    'f\xc3',
    'f\xe2\x82',
    'f\x01\x7f\rx',
    'u'.repeat(78) + '\xe2\x82\xac and more',
    'u'.repeat(78) + 'x\xe2\x82\xac',
  ].map((f) =>
    pair(`function line ${JSON.stringify(f)} (cut at invalid UTF-8)`, raw(f + '\n' + numbered(10, ' ').join('\n') + '\n'), raw(f + '\n' + numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)).join('\n') + '\n')),
  ),
  pair('non-ASCII first letter is not a function line', text('été', ...numbered(10, ' ')), text('été', ...numbered(10, ' ').map((l, i) => (i === 7 ? 'x' : l)))),
  pair(
    'two hunks, second reuses the function line',
    text('func one', ...numbered(40, ' ')),
    text('func one', ...numbered(40, ' ').map((l, i) => (i === 7 || i === 30 ? 'x' : l))),
  ),
  pair(
    'two hunks, different function lines',
    text('func one', ...numbered(20, ' '), 'func two', ...numbered(20, ' ')),
    text('func one', ...numbered(20, ' ').map((l, i) => (i === 7 ? 'x' : l)), 'func two', ...numbered(20, ' ').map((l, i) => (i === 12 ? 'x' : l))),
  ),
  pair('function line inside the context is not used', text('func a', ' 1', ' 2', 'func b', ' 3', ' 4', ' 5'), text('func a', ' 1', ' 2', 'func b', ' 3', ' X', ' 5')),
  pair('change right after the function line', text('func a', ' 1', ' 2', ' 3', ' 4', ' 5', ' 6'), text('func a', ' 1', ' 2', ' 3', ' 4', ' X', ' 6')),
  // With -U0 git drops whole 1 KiB blocks of common trailing bytes first: changes cannot slide into them
  pair('common tail of 3 KiB (sliding stops where -U0 trimmed)', 'A\n' + 'x\n'.repeat(1501), 'A\n' + 'x\n'.repeat(1502)),
  pair('common tail of 3 KiB, CRLF', 'A\r\n' + 'x\r\n'.repeat(1001), 'A\r\n' + 'x\r\n'.repeat(1002)),
  pair('common tail that is one long line', 'A\nx\n' + 'y'.repeat(3000) + '\n', 'A\nx\nx\n' + 'y'.repeat(3000) + '\n'),
  pair('common tail without final newline', 'A\n' + 'x\n'.repeat(1501) + 'end', 'A\n' + 'x\n'.repeat(1502) + 'end'),
  // Encodings
  pair('unicode', text('héllo', 'wörld', '日本語', '🎉'), text('héllo', 'wörld!', '日本語', '🎉🎉')),
  pair('invalid UTF-8', raw('ok\n\xff\xfe bad\n\xc3(\nend\n'), raw('ok\n\xff\xfd bad\n\xc3(\n\x80\nend\n')),
  pair('latin1 text', raw('caf\xe9\nna\xefve\n'), raw('caf\xe9\nna\xefve!\n')),
  pair('form feed and vertical tab lines', raw('a\n\f\n\v\nb\n\f\n\v\nc\n'), raw('a\n\f\n\v\nb\n\f\n\v\nX\n\f\n\v\nc\n')),
];

/**
 * Inputs on which a slightly different indent-heuristic constant (a penalty off by one, the
 * start-of-file penalty, the 100-line sliding limit) would give a different diff: found by
 * searching generated inputs for such differences, the expected answer still comes from git.
 */
const sharpCases: TextPair[] = [
  ...[281802, 203791, 205390, 205478, 203627, 207477, 209893].map((seed) => sliderPair(seed)),
  pair('start of file tie 1', '  y\n\t\tz\n\t\tz\n  y\n\t\tz\n\t\tz\n  y\n\n\n}\n\n', '  y\n\t\tz\n\t\tz\n  y\n\n\n}\n\n'),
  pair('start of file tie 2', '  y\n\tx\n  y\n\tx\n  y\n\n\nx\n', '  y\n\tx\n  y\n\n\nx\n'),
  pair('start of file tie 3', '  y\n\tx\n  y\n\n \n}\n}\nx\n', '  y\n\tx\n  y\n\tx\n  y\n\n \n}\n}\nx\n'),
  ...[99, 100, 101].flatMap((m) =>
    [99, 100, 120].flatMap((ins) => {
      const a = text('a', '', ...Array<string>(m).fill('x'), 'y');
      const b = text('a', '', ...Array<string>(m + ins).fill('x'), 'y');
      return [pair(`${ins} lines inserted into a run of ${m}`, a, b), pair(`${ins} lines deleted from a run of ${m + ins}`, b, a)];
    }),
  ),
];

// ---------------------------------------------------------------------------

/**
 * A small edit inside long stretches both texts share, made of the same few lines as the edit
 * (so the changed lines can slide into the shared stretches, and shared lines equal changed
 * ones): the shared leading and trailing lines are classified apart from the edited window.
 */
function smallEditPair(seed: number): TextPair {
  const r = new Random(seed);
  const vocabulary = [...randomLines(r, r.int(2, 6), r.pick(['tiny', 'code'] as const)), '', '}'];
  const stretch = () => Array.from({ length: r.int(0, 300) }, () => r.pick(vocabulary));
  const head = stretch();
  const tail = stretch();
  const window = Array.from({ length: r.int(0, 12) }, () => (r.chance(0.7) ? r.pick(vocabulary) : randomLines(r, 1, 'code')[0]));
  const edited = editLines(r, window, r.int(1, 3), 'tiny');
  const finalNewline = r.chance(0.9) ? '\n' : '';
  const a = Buffer.from([...head, ...window, ...tail].join('\n') + finalNewline);
  const b = Buffer.from([...head, ...edited, ...tail].join('\n') + finalNewline);
  return { a, b, label: `small edit seed ${seed} (${head.length} + ${window.length} -> ${edited.length} + ${tail.length} lines)` };
}

/**
 * A small edit to a file over 16 KiB, as most commits make: xdiff diffs a window of lines around
 * it (see windowOf). The edits replace, insert or delete a few lines or change one, sometimes
 * inside a run of equal lines that lets the change slide up to or past the window's edges, next
 * to blank and indented lines, near either end of the file, or with a function line far above
 * (the rest of the file indented); some repeat a line of the file (the window is declined).
 */
function bigFileEditPair(seed: number): TextPair {
  const r = new Random(seed);
  const style = r.pick(['code', 'code', 'mixed', 'prose', 'whitespace', 'tiny'] as const);
  let lines = randomLines(r, r.int(900, 3000), style);
  if (r.chance(0.2)) lines = lines.map((l, i) => (i % 400 === 0 ? `func_${i}(void)` : `\t${l}`));
  const at = r.pick([() => r.int(0, 90), () => r.int(lines.length - 90, lines.length), () => r.int(0, lines.length)])();
  if (r.chance(0.25)) {
    // A run of equal lines around the edit: it may slide anywhere along it.
    const run = Array.from({ length: r.pick([10, 30, 60, 90, 150, 400]) }, () => r.pick(['', '\tx', '}', 'x']));
    lines.splice(at, 0, ...(r.chance(0.5) ? run : run.map(() => run[0])));
  }
  const b = lines.slice();
  const fresh = (n: number) => Array.from({ length: n }, (_, k) => `new line ${seed} ${k} ${r.pick(['', '{', ';'])}`);
  const where = Math.min(at + r.int(0, 40), b.length);
  switch (r.int(0, 5)) {
    case 0:
      b.splice(where, r.int(1, 3), ...fresh(r.int(1, 3)));
      break;
    case 1:
      b.splice(where, 0, ...(r.chance(0.5) ? fresh(r.int(1, 5)) : [b[Math.max(0, where - 1)] ?? '']));
      break;
    case 2:
      b.splice(where, r.int(1, 5));
      break;
    case 3:
      if (b.length > 0) b[Math.min(where, b.length - 1)] += ';';
      break;
    case 4:
      // A line of the file written again elsewhere nearby: the changed lines share it.
      b.splice(where, 1, b[Math.max(0, where - r.int(1, 50))] ?? 'x', ...fresh(1));
      break;
    default: {
      // A block of a periodic run put into (or taken out of) a long run of the same period: the
      // group slides along the run, past where a window would be cut, and the indent heuristic
      // weighs the blank lines in it.
      const period = r.pick([['x'], ['x', ''], ['\tx', '', 'y'], ['', '']]);
      const runOf = (n: number) => Array.from({ length: n }, (_, k) => period[k % period.length]);
      // Runs about as long as a window's margin, and blocks about as long as the run: the
      // heuristic then weighs cuts at the run's top, near where the window is cut.
      const periods = r.chance(0.6) ? r.int(12, 70) : r.int(60, 200);
      const size = period.length * (r.chance(0.6) ? Math.max(1, periods - r.int(0, 3)) : r.int(10, Math.min(50, periods)));
      lines.splice(at, 0, ...(r.chance(0.5) ? Array<string>(r.int(1, 25)).fill('') : []), ...runOf(period.length * periods));
      b.length = 0;
      b.push(...lines);
      if (r.chance(0.5)) b.splice(at, 0, ...runOf(size));
      else b.splice(at, size);
    }
  }
  const eol = r.chance(0.1) ? '\r\n' : '\n';
  const finalA = !r.chance(0.1);
  const finalB = r.chance(0.9) ? finalA : !finalA;
  const render = (x: string[], final: boolean) => Buffer.from(x.join(eol) + (final ? eol : ''));
  return { a: render(lines, finalA), b: render(b, finalB), label: `big file edit seed ${seed} (${style}, ${lines.length} -> ${b.length} lines, at ${at})` };
}

describe('xdiff (git-exact line diff)', function () {
  this.timeout(120000);

  after(() => rmSync(workDir, { recursive: true, force: true }));

  it('produces the structured hunks of a simple change', () => {
    const hunks = diffHunks(text('a', 'b', 'c'), raw('a\nB\nc'));
    expect(hunks).to.deep.equal([
      {
        oldStart: 1,
        oldLines: 3,
        newStart: 1,
        newLines: 3,
        header: '@@ -1,3 +1,3 @@',
        lines: [' a', '-b', '-c', '+B', '+c', '\\ No newline at end of file'],
      },
    ]);
    expect(diffHunks(text('a'), text('a'))).to.deep.equal([]);
    expect(unifiedBody(Buffer.alloc(0), Buffer.alloc(0))).to.equal('');
    expect(diffHunks(Buffer.alloc(0), text('x'))[0]).to.include({ oldStart: 0, oldLines: 0, newStart: 1, newLines: 1, header: '@@ -0,0 +1 @@' });
  });

  it('matches git on hand-made cases for each rule (-U3)', async () => {
    await expectSameAsGit(handMade);
  });

  it('matches git on hand-made cases with -U0, -U1 and -U5', async () => {
    for (const ctx of [0, 1, 5]) await expectSameAsGit(handMade, ctx);
  });

  it('matches git on inputs that pin down the indent heuristic constants', async () => {
    await expectSameAsGit(sharpCases);
  });

  it('matches git numstat on hand-made cases', async () => {
    await expectSameNumstat(handMade);
  });

  const RANDOM = 2400;
  const randomPairs = () => Array.from({ length: RANDOM }, (_, i) => randomPair(1000 + i));

  it(`matches git on ${RANDOM} random text pairs (-U3) and their numstat`, async () => {
    const pairs = randomPairs();
    await expectSameAsGit(pairs);
    await expectSameNumstat(pairs);
  });

  it('matches git on 600 small edits between long shared stretches of the same lines (-U3, -U0 and numstat)', async () => {
    const pairs = Array.from({ length: 600 }, (_, i) => smallEditPair(150000 + i));
    await expectSameAsGit(pairs);
    await expectSameAsGit(pairs, 0);
    await expectSameNumstat(pairs);
  });

  it('matches git on 800 small edits to big files, diffed in a window around the edit (-U3, -U10, -U11 and numstat)', async () => {
    const pairs = Array.from({ length: 800 }, (_, i) => bigFileEditPair(160000 + i));
    const before = { ...windowDiffs };
    await expectSameAsGit(pairs);
    const used = windowDiffs.used - before.used;
    const declined = windowDiffs.declined - before.declined;
    // Most edits take the window, some are declined (shared lines, slides near a cut): both paths run.
    expect(used, `windows used (${declined} declined)`).to.be.greaterThan(400);
    expect(declined, `windows declined (${used} used)`).to.be.greaterThan(40);
    await expectSameAsGit(pairs.slice(0, 200), 10);
    await expectSameAsGit(pairs.slice(0, 200), 11);
    await expectSameNumstat(pairs);
  });

  it('matches git where a block slides along a run up to near the edge of the window (864 cases)', async () => {
    // A run of a periodic pattern about as long as the window's margin, blank lines above it, a
    // block of the run inserted or removed: the group slides to the run's top, and the indent
    // heuristic reads lines above it that a window cut too close would leave out (a slide
    // allowed up to one line from the cut gets 6 of these wrong).
    const filler = Array.from({ length: 1200 }, (_, i) => (i % 7 === 0 ? `fn_${i}(void)` : `\tstatement_${i} = value_${i % 13};`));
    const pairs: TextPair[] = [];
    for (const period of [['x'], ['x', ''], ['', '\tx'], ['\tx', '', 'y']]) {
      for (const periods of [40, 44, 48, 52, 56, 60, 63, 66, 70]) {
        for (const blanks of [0, 5, 15, 22]) {
          for (const shorter of [0, 1, 3]) {
            for (const insert of [true, false]) {
              const runOf = (n: number) => Array.from({ length: n }, (_, k) => period[k % period.length]);
              const run = period.length * periods;
              const size = Math.max(period.length, run - shorter * period.length);
              const a = [...filler.slice(0, 600), ...Array<string>(blanks).fill(''), ...runOf(run), 'end_marker();', ...filler.slice(600)];
              const b = a.slice();
              if (insert) b.splice(600 + blanks, 0, ...runOf(size));
              else b.splice(600 + blanks, size);
              pairs.push({ a: Buffer.from(a.join('\n') + '\n'), b: Buffer.from(b.join('\n') + '\n'), label: `${JSON.stringify(period)} x ${periods}, ${blanks} blank lines above, ${insert ? 'insert' : 'remove'} ${size}` });
            }
          }
        }
      }
    }
    const before = { ...windowDiffs };
    await expectSameAsGit(pairs);
    expect(windowDiffs.used - before.used, 'windows used').to.be.greaterThan(300);
    expect(windowDiffs.declined - before.declined, 'windows declined').to.be.greaterThan(300);
  });

  it('finds the common prefix and suffix as a byte loop does, whichever chunk the first difference falls in', () => {
    const r = new Random(9);
    const base = Buffer.from(Array.from({ length: 10000 }, () => r.int(0, 255)));
    for (const at of [0, 1, 127, 128, 129, 255, 256, 4095, 4096, 4097, 4223, 4224, 4225, 8191, 8192, 9999]) {
      for (const extra of [0, 1, 200, 5000]) {
        const longer = Buffer.concat([base, base.subarray(0, extra)]);
        const other = Buffer.from(longer);
        other[at] ^= 0x01;
        const fromEnd = Buffer.from(longer);
        fromEnd[longer.length - 1 - at] ^= 0x80;
        expect(commonPrefixLength(base, other, Math.min(base.length, other.length)), `prefix, difference at ${at}, ${extra} more`).to.equal(at);
        let suffix = 0;
        while (suffix < Math.min(base.length, fromEnd.length) && base[base.length - 1 - suffix] === fromEnd[fromEnd.length - 1 - suffix]) suffix++;
        expect(commonSuffixLength(base, base.length, fromEnd, fromEnd.length), `suffix, difference ${at} from the end, ${extra} more`).to.equal(suffix);
      }
    }
    expect(commonPrefixLength(base, Buffer.from(base), base.length)).to.equal(base.length);
    expect(commonSuffixLength(base, base.length, Buffer.from(base), base.length)).to.equal(base.length);
  });

  it('counts newlines four bytes at a time as one at a time does, at any alignment', () => {
    const r = new Random(5);
    const data = Buffer.from(Array.from({ length: 5000 }, () => r.pick([10, 10, 97, 0x8a, 0x0a0a & 0xff, 0xff, 0])));
    for (let from = 0; from < 8; from++) {
      for (const end of [0, 1, 3, 4, 5, 7, 100, 4000, 5000 - from]) {
        const view = data.subarray(from);
        let expected = 0;
        for (let p = 0; p < end; p++) if (view[p] === 10) expected++;
        expect(countNewlineBytes(view, end), `from ${from}, end ${end}`).to.equal(expected);
      }
    }
  });

  it('matches git on 500 random whitespace-heavy pairs (indent heuristic corner cases)', async () => {
    const pairs = Array.from({ length: 500 }, (_, i) => randomPair(70000 + i, 400, ['whitespace', 'whitespace', 'mixed']));
    await expectSameAsGit(pairs);
  });

  it('matches git on 1500 random slider pairs (compaction, alignment, indent heuristic)', async () => {
    await expectSameAsGit(Array.from({ length: 1500 }, (_, i) => sliderPair(110000 + i)));
  });

  it('matches git on 400 random pairs dominated by unmatched and ambiguous lines (pre-pass)', async () => {
    const pairs = Array.from({ length: 400 }, (_, i) => ambiguousPair(130000 + i));
    await expectSameAsGit(pairs);
    await expectSameNumstat(pairs);
  });

  it('matches git on 200 random pairs with -U10', async () => {
    await expectSameAsGit(
      Array.from({ length: 200 }, (_, i) => randomPair(90000 + i, 1000)),
      10,
    );
  });

  it('matches git on 600 random text pairs with -U0 and -U1', async () => {
    const pairs = Array.from({ length: 300 }, (_, i) => randomPair(50000 + i, 600));
    await expectSameAsGit(pairs, 0);
    await expectSameAsGit(pairs, 1);
  });

  it('matches git on 300 random pairs with a common tail over 1 KiB (-U0, -U3 and numstat)', async () => {
    const pairs = Array.from({ length: 300 }, (_, i) => commonTailPair(i));
    await expectSameAsGit(pairs, 0);
    await expectSameAsGit(pairs);
    await expectSameNumstat(pairs);
  });

  it('matches git on large inputs (cost heuristics) including numstat', async () => {
    const r = new Random(7);
    const big = randomLines(r, 20000, 'code');
    const scattered = big.slice();
    for (let k = 0; k < 60; k++) {
      const at = r.int(0, scattered.length - 10);
      scattered.splice(at, r.int(0, 3), ...randomLines(r, r.int(0, 3), 'code'));
    }
    const join = (ls: string[]) => Buffer.from(ls.join('\n') + '\n');
    const pairs: TextPair[] = [
      { label: '20,000 lines, scattered edits', a: join(big), b: join(scattered) },
      { label: 'two different 3,000-line files', a: join(randomLines(new Random(11), 3000, 'prose')), b: join(randomLines(new Random(12), 3000, 'prose')) },
      { label: 'two different 3,000-line code files', a: join(randomLines(new Random(13), 3000, 'code')), b: join(randomLines(new Random(14), 3000, 'code')) },
      { label: 'two different 3,000-line tiny-alphabet files', a: join(randomLines(new Random(15), 3000, 'tiny')), b: join(randomLines(new Random(16), 3000, 'tiny')) },
      {
        label: '8,000 lines, half rewritten in interleaved blocks',
        a: join(numbered(8000)),
        b: join(numbered(8000).map((l, i) => (Math.floor(i / 37) % 2 ? `other ${i}` : l))),
      },
      {
        label: '5,000 lines with long common runs between big rewrites',
        a: join(randomLines(new Random(21), 5000, 'mixed')),
        b: join(
          randomLines(new Random(21), 5000, 'mixed').map((l, i) => (Math.floor(i / 300) % 2 ? (i % 50 < 25 ? `rewritten ${i}` : l) : l)),
        ),
      },
    ];
    await expectSameAsGit(pairs);
    await expectSameAsGit(pairs, 0);
    await expectSameNumstat(pairs);
  });

  it('matches git where the search gives up on optimality (40,000-line inputs)', async () => {
    // Lines from a vocabulary: every line has a few matches in the other file, so the search sees
    // them all and runs into edit costs past git's limits (snake and furthest-point cuts).
    const vocab = (r: Random, n: number, v: number) => Array.from({ length: n }, () => `w${r.int(0, v)}`);
    const edited = (seed: number, v: number, edits: number, span: number, insertMiddle: number) => {
      const r = new Random(seed);
      const a = vocab(r, 40000, v);
      const b = a.slice(0, 20000).concat(vocab(r, insertMiddle, v), a.slice(20000));
      for (let k = 0; k < edits; k++) b.splice(r.int(0, b.length), r.int(0, span), ...vocab(r, r.int(0, span), v));
      return { a: Buffer.from(a.join('\n') + '\n'), b: Buffer.from(b.join('\n') + '\n') };
    };
    const r = new Random(5);
    const mixed = randomLines(r, 40000, 'mixed');
    const mixedB = mixed.slice();
    for (let k = 0; k < 800; k++) mixedB.splice(r.int(0, mixedB.length), r.int(0, 40), ...randomLines(r, r.int(0, 40), 'prose'));
    const pairs: TextPair[] = [
      { label: 'vocabulary 2000, 3000 small edits', ...edited(1, 2000, 3000, 8, 0) },
      { label: 'vocabulary 500, 1500 edits', ...edited(2, 500, 1500, 20, 0) },
      { label: 'vocabulary 3000, 5000 lines inserted in the middle, 1000 edits', ...edited(3, 3000, 1000, 20, 5000) },
      { label: 'mixed 40,000 lines, 800 block replacements', a: Buffer.from(mixed.join('\n') + '\n'), b: Buffer.from(mixedB.join('\n') + '\n') },
    ];
    await expectSameAsGit(pairs);
    await expectSameNumstat(pairs);
  });

  it('matches git on two 1,050,000-line files (the 1024 cap on the "too many matches" limit)', async () => {
    // About 1,500 blank lines in each file among unique lines: with more than 2^20 lines the
    // limit would be 2048 without git's cap, and the blank lines would be matched as context.
    const make = (prefix: string) => {
      const lines: string[] = [];
      for (let i = 0; i < 1050000; i++) lines.push(i % 700 === 350 ? '' : prefix + i);
      return Buffer.from(lines.join('\n') + '\n');
    };
    const p: TextPair = { label: '1,050,000 lines each, blank lines common', a: make('a'), b: make('b') };
    await expectSameAsGit([p]);
    expect(unifiedBody(p.a, p.b)).to.not.match(/^ $/m);
  });

  it('is fast enough', () => {
    const r = new Random(99);
    const small = randomLines(r, 300, 'code');
    const smallB = small.slice();
    smallB.splice(100, 2, 'changed();');
    smallB.splice(200, 0, '\tadded();');
    const a = Buffer.from(small.join('\n') + '\n');
    const b = Buffer.from(smallB.join('\n') + '\n');
    for (let i = 0; i < 50; i++) unifiedBody(a, b);
    let t = process.hrtime.bigint();
    const N = 500;
    for (let i = 0; i < N; i++) unifiedBody(a, b);
    const perSmall = Number(process.hrtime.bigint() - t) / 1e6 / N;

    const big = randomLines(r, 20000, 'code');
    const bigB = big.slice();
    for (let k = 0; k < 40; k++) bigB.splice(r.int(0, bigB.length - 5), r.int(0, 2), ...randomLines(r, r.int(0, 2), 'code'));
    const A = Buffer.from(big.join('\n') + '\n');
    const B = Buffer.from(bigB.join('\n') + '\n');
    unifiedBody(A, B);
    t = process.hrtime.bigint();
    unifiedBody(A, B);
    const perBig = Number(process.hrtime.bigint() - t) / 1e6;
    console.log(`      300 lines: ${perSmall.toFixed(3)} ms, 20,000 lines: ${perBig.toFixed(1)} ms`);
    expect(perSmall).to.be.below(1);
    expect(perBig).to.be.below(200);
  });
});
