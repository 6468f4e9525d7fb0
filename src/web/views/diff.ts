import type { FileDiff } from '../../git/index.js';
import { GITLAB_DIFF_COLLAPSE_BYTES, GITLAB_DIFF_LIMITS } from '../../gitlab/diff-limits.js';
import type { NoteRow } from '../../store/sidecar.js';
import type { User } from '../../users.js';
import { html, type SafeHtml } from '../html.js';
import { noteBlock } from './notes.js';

/** A comment with its author, for placing at its diff line. */
export interface PlacedNote {
  note: NoteRow;
  author: User;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const ZERO_MODE = /^0+$/;

/** One rendered line of a patch: its kind, old and new numbers (null where the side has none) and text. */
export interface PatchLine {
  kind: 'hunk' | 'del' | 'add' | 'ctx' | 'eof';
  old: number | null;
  new: number | null;
  text: string;
}

/** A unified patch body (from its first '@@') as lines with git's numbers: removed lines by old number, added by new, context both. */
export function patchLines(body: string): PatchLine[] {
  const out: PatchLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  const lines = body.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const m = HUNK.exec(line);
    if (m) {
      // A side with no lines names the line before the hunk.
      oldNo = m[2] === '0' ? Number(m[1]) + 1 : Number(m[1]);
      newNo = m[4] === '0' ? Number(m[3]) + 1 : Number(m[3]);
      out.push({ kind: 'hunk', old: null, new: null, text: line });
    } else if (line.startsWith('-')) out.push({ kind: 'del', old: oldNo++, new: null, text: line.slice(1) });
    else if (line.startsWith('+')) out.push({ kind: 'add', old: null, new: newNo++, text: line.slice(1) });
    else if (line.startsWith(' ')) out.push({ kind: 'ctx', old: oldNo++, new: newNo++, text: line.slice(1) });
    else if (line.startsWith('\\')) out.push({ kind: 'eof', old: null, new: null, text: line });
  }
  return out;
}

function notesAt(notes: PlacedNote[], path: string, line: PatchLine, placed: Set<number>): PlacedNote[] {
  const here = notes.filter(({ note }) => {
    if (note.path !== path || note.line === null || placed.has(note.id)) return false;
    if (line.kind === 'add') return note.lineType === 'new' && note.line === line.new;
    if (line.kind === 'del') return note.lineType === 'old' && note.line === line.old;
    if (line.kind === 'ctx') return note.lineType === null && note.line === line.new;
    return false;
  });
  for (const { note } of here) placed.add(note.id);
  return here;
}

function fileTitle(file: FileDiff): SafeHtml {
  const badges: SafeHtml[] = [];
  if (file.newFile) badges.push(html`<span class="badge">new file</span>`);
  if (file.deletedFile) badges.push(html`<span class="badge">deleted</span>`);
  if (file.renamedFile) badges.push(html`<span class="badge">renamed</span>`);
  const modeChanged = !file.newFile && !file.deletedFile && file.aMode !== file.bMode && !ZERO_MODE.test(file.aMode) && !ZERO_MODE.test(file.bMode);
  if (modeChanged) badges.push(html`<span class="badge mode-change">mode ${file.aMode} → ${file.bMode}</span>`);
  const name = file.renamedFile ? html`<code class="old-path">${file.oldPath}</code> → <code class="new-path">${file.newPath}</code>` : html`<code class="new-path">${file.deletedFile ? file.oldPath : file.newPath}</code>`;
  return html`${name} ${badges}`;
}

/**
 * The files of a diff, each collapsible without script (<details>): hunks with old and new line
 * numbers and the comments on their lines, git's "Binary files … differ", or for a patch over
 * GitLab's size limit a collapsed file saying it is too large. Notes placed here go into `placed`.
 */
export function diffFiles(files: FileDiff[], overflow: boolean, notes: PlacedNote[], placed = new Set<number>()): SafeHtml {
  const rendered = files.map((file, index) => {
    const id = `file-${index}`;
    const path = file.newPath;
    if (file.tooLarge) {
      return html`<details class="file too-large" id="${id}" data-path="${path}"><summary>${fileTitle(file)}</summary><div class="notice">This file's changes are too large to show (its patch is over ${Math.round(GITLAB_DIFF_LIMITS.maxPatchBytes / 1024)} KiB).</div></details>`;
    }
    if (file.body.startsWith('Binary files ')) {
      return html`<details class="file binary" id="${id}" data-path="${path}" open><summary>${fileTitle(file)}</summary><div class="notice">${file.body.trim()}</div></details>`;
    }
    if (file.body === '') {
      const why = file.renamedFile || file.aMode !== file.bMode ? 'No changes to the content.' : 'Empty file.';
      return html`<details class="file" id="${id}" data-path="${path}" open><summary>${fileTitle(file)}</summary><div class="notice">${why}</div></details>`;
    }
    const lines = patchLines(file.body);
    const rows = lines.map((line) => {
      const here = notesAt(notes, path, line, placed);
      const row =
        line.kind === 'hunk' ? html`<tr class="hunk"><td class="num"></td><td class="num"></td><td class="code">${line.text}</td></tr>`
        : line.kind === 'eof' ? html`<tr class="eof"><td class="num"></td><td class="num"></td><td class="code muted">${line.text}</td></tr>`
        : html`<tr class="${line.kind}"><td class="num">${line.old ?? ''}</td><td class="num">${line.new ?? ''}</td><td class="code">${line.text}</td></tr>`;
      return here.length === 0 ? row : html`${row}<tr class="note"><td colspan="3">${here.map((n) => noteBlock(n.note, n.author))}</td></tr>`;
    });
    const collapsed = Buffer.byteLength(file.body) > GITLAB_DIFF_COLLAPSE_BYTES;
    const added = lines.filter((l) => l.kind === 'add').length;
    const removed = lines.filter((l) => l.kind === 'del').length;
    return html`<details class="file${collapsed ? ' collapsed' : ''}" id="${id}" data-path="${path}"${collapsed ? '' : html` open`}><summary>${fileTitle(file)} <span class="muted">+${added} −${removed}</span>${collapsed ? html` <span class="muted">(large: expand to see)</span>` : ''}</summary>
<table class="diff"><colgroup><col class="num"><col class="num"><col></colgroup><tbody>${rows}</tbody></table></details>`;
  });
  return html`<p class="muted">${files.length} file${files.length === 1 ? '' : 's'} changed</p>${overflow ? html`<p class="notice overflow">Too many changes to show them all: ${files.length} files shown (GitLab's limits are ${GITLAB_DIFF_LIMITS.maxFiles} files and ${GITLAB_DIFF_LIMITS.maxLines} lines).</p>` : ''}${rendered}`;
}
