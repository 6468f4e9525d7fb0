import type { Commit, Signature } from '../../git/index.js';
import { fullTitle, gitDate } from '../../gitlab/format.js';
import type { User } from '../../users.js';
import { html, type SafeHtml } from '../html.js';
import { links } from '../links.js';

/** Who is looking: the signed-in user (null: anonymous) and their session's CSRF token for forms. */
export interface Viewer {
  user: User | null;
  csrf: string | null;
  /** The path being shown, for the login link's way back. */
  here: string;
}

export type StatusName = 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'manual';

const SYMBOLS: Record<string, string> = { success: '✓', failed: '✗', running: '●', pending: '○', created: '○', canceled: '⊘', skipped: '»', manual: '▸' };

/** A pipeline or status state as a symbol with its name (title and screen-reader label); null: no pipeline. */
export function statusIcon(status: string | null, href?: string): SafeHtml {
  if (status === null) return html`<span class="status status-none" title="no pipeline" aria-label="no pipeline">·</span>`;
  const icon = html`<span class="status status-${status in SYMBOLS ? status : 'none'}" title="${status}" aria-label="${status}" data-status="${status}">${SYMBOLS[status] ?? '?'}</span>`;
  return href ? html`<a href="${href}" class="status-link">${icon}</a>` : icon;
}

/** "3 days ago" from `now`. */
export function timeAgo(when: Date, now: Date): string {
  const seconds = Math.round((now.getTime() - when.getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  const units: [number, string][] = [[365 * 86400, 'year'], [30 * 86400, 'month'], [7 * 86400, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, name] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return future ? `in ${n} ${name}${n === 1 ? '' : 's'}` : `${n} ${name}${n === 1 ? '' : 's'} ago`;
    }
  }
  return 'just now';
}

/** A date as relative text, its exact time in the title and datetime. */
export function dateTime(iso: string, now: Date): SafeHtml {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return html`<span>${iso}</span>`;
  return html`<time datetime="${when.toISOString()}" title="${iso}">${timeAgo(when, now)}</time>`;
}

/** A git signature's time: relative, with the exact time in the signature's own offset. */
export function signatureTime(sig: Signature, now: Date): SafeHtml {
  return dateTime(gitDate(sig), now);
}

export function exactTime(sig: Signature): string {
  return gitDate(sig).replace('T', ' ').replace(/\.000/, ' ');
}

export function shortSha(sha: string): string {
  return sha.slice(0, 8);
}

export function commitTitle(commit: Commit): string {
  return fullTitle(commit.message);
}

/** The title of a commit as a link to its page, with its short SHA. */
export function commitLink(project: string, commit: Commit): SafeHtml {
  return html`<a href="${links.commit(project, commit.oid)}" class="commit-title">${commitTitle(commit)}</a>`;
}

export function person(sig: Signature): SafeHtml {
  return html`<span class="person" title="${sig.email}">${sig.name}</span>`;
}

export function duration(start: string | null, end: string | null, now: Date): string {
  if (!start) return '';
  const ms = (end ? new Date(end) : now).getTime() - new Date(start).getTime();
  if (!(ms >= 0)) return '';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const text = h > 0 ? `${h}h ${m}m ${rest}s` : m > 0 ? `${m}m ${rest}s` : `${rest}s`;
  return end ? text : `${text} (running)`;
}
