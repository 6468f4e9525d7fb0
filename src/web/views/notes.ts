import type { NoteRow } from '../../store/sidecar.js';
import type { User } from '../../users.js';
import { html, type SafeHtml } from '../html.js';
import { dateTime } from './common.js';

/** One comment: its author, time, place (when it is on a line) and body as plain text. */
export function noteBlock(note: NoteRow, author: User, where = false, now = new Date()): SafeHtml {
  return html`<div class="note" id="note-${note.id}" data-note="${note.id}"><div class="muted"><strong>${author.name}</strong> @${author.username} · ${dateTime(note.createdAt, now)}${where && note.path !== null ? html` · on <code>${note.path}</code>${note.line !== null ? html` line ${note.line}${note.lineType ? html` (${note.lineType})` : ''}` : ''}` : ''}</div><div class="body">${note.note}</div></div>`;
}
