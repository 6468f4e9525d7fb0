import type { PipelineSummary } from '../../ci/statuses.js';
import { EXTERNAL_STAGE } from '../../ci/statuses.js';
import type { Commit, DiffResult } from '../../git/index.js';
import type { ProjectView } from '../../gitlab/entities.js';
import type { StatusRow } from '../../store/sidecar.js';
import type { User } from '../../users.js';
import { html, httpUrl, type SafeHtml } from '../html.js';
import { links } from '../links.js';
import { commitTitle, dateTime, duration, exactTime, person, shortSha, signatureTime, statusIcon } from './common.js';
import { diffFiles, type PlacedNote } from './diff.js';
import { projectHeader } from './layout.js';
import { noteBlock } from './notes.js';

/** A status with its author, for the statuses table. */
export interface StatusLine {
  row: StatusRow;
  author: User;
}

/** The statuses of pipelines: name, stage, state, description, duration, target_url (a link only for http(s)). */
export function statusTable(rows: StatusLine[], now: Date): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">No statuses.</p>`;
  return html`<table class="list statuses"><thead><tr><th>State</th><th>Name</th><th>Stage</th><th>Description</th><th>Duration</th><th>Ref</th><th>Posted</th><th>Details</th></tr></thead><tbody>${rows.map(({ row, author }) => {
    const url = httpUrl(row.targetUrl);
    return html`<tr class="status-row${row.retried ? ' retried' : ''}" data-status-id="${row.id}">
<td>${statusIcon(row.status)} ${row.status}${row.retried ? html` <span class="badge">retried</span>` : ''}</td>
<td class="wrap">${row.name}</td><td>${EXTERNAL_STAGE}</td>
<td class="wrap">${row.description ?? ''}</td>
<td>${duration(row.startedAt, row.finishedAt, now)}</td>
<td>${row.ref}</td>
<td>${dateTime(row.createdAt, now)} by ${author.username} <span class="muted">#${row.id}</span></td>
<td>${url ? html`<a class="target-url" href="${url}" rel="noopener noreferrer nofollow">${url}</a>` : row.targetUrl ? html`<span class="muted unsafe-url" title="not an http(s) link">${row.targetUrl}</span>` : ''}</td>
</tr>`;
  })}</tbody></table>`;
}

export interface CommitPageData {
  view: ProjectView;
  commit: Commit;
  diff: DiffResult;
  notes: PlacedNote[];
  pipelines: PipelineSummary[];
  statuses: StatusLine[];
}

/** `/<project>/-/commit/<sha>`. */
export function commitPage(d: CommitPageData, now: Date): SafeHtml {
  const project = d.view.path;
  const c = d.commit;
  const placed = new Set<number>();
  const files = diffFiles(d.diff.files, d.diff.overflow, d.notes, placed);
  const rest = d.notes.filter((n) => !placed.has(n.note.id));
  const sameCommitter = c.committer.name === c.author.name && c.committer.email === c.author.email && c.committer.timestamp === c.author.timestamp;
  const latest = d.pipelines[0] ?? null;
  return html`${projectHeader(project, 'other', d.view.default_branch)}
<h1 class="commit-title">${commitTitle(c)}</h1>
<dl class="facts">
<dt>Commit</dt><dd><code class="sha full-sha">${c.oid}</code></dd>
<dt>Author</dt><dd>${person(c.author)} <span class="muted">&lt;${c.author.email}&gt;</span> · <span title="${exactTime(c.author)}">${signatureTime(c.author, now)}</span> <span class="muted">(${exactTime(c.author)})</span></dd>
${sameCommitter ? '' : html`<dt>Committer</dt><dd>${person(c.committer)} <span class="muted">&lt;${c.committer.email}&gt;</span> · <span title="${exactTime(c.committer)}">${signatureTime(c.committer, now)}</span> <span class="muted">(${exactTime(c.committer)})</span></dd>`}
<dt>Parents</dt><dd>${c.parents.length === 0 ? html`<span class="muted">none (a root commit)</span>` : c.parents.map((p, i) => html`${i > 0 ? ' ' : ''}<a class="sha parent" href="${links.commit(project, p)}">${shortSha(p)}</a>`)}</dd>
<dt>Pipeline</dt><dd>${latest ? html`${statusIcon(latest.status, links.pipeline(project, latest.pipeline.id))} <a href="${links.pipeline(project, latest.pipeline.id)}">#${latest.pipeline.id}</a> ${latest.status} on ${latest.pipeline.ref}` : html`<span class="muted">none</span>`}</dd>
</dl>
<pre class="message">${c.message}</pre>
<h2 id="pipeline">Pipeline statuses</h2>
${d.pipelines.length > 1 ? html`<p class="muted">${d.pipelines.length} pipelines: ${d.pipelines.map((p) => html`<a href="${links.pipeline(project, p.pipeline.id)}">#${p.pipeline.id}</a> (${p.status}, ${p.pipeline.ref}) `)}</p>` : ''}
${statusTable(d.statuses, now)}
<h2 id="changes">Changes</h2>
${files}
<h2 id="comments">Comments <span class="muted">(${d.notes.length})</span></h2>
${rest.length === 0 ? html`<p class="muted">${d.notes.length > 0 ? 'Every comment is shown at its line above.' : 'No comments.'}</p>` : rest.map((n) => noteBlock(n.note, n.author, true, now))}`;
}

/** `/<project>/-/pipelines/<id>`. */
export function pipelinePage(view: ProjectView, summary: PipelineSummary, commit: Commit | null, statuses: StatusLine[], now: Date): SafeHtml {
  const p = summary.pipeline;
  return html`${projectHeader(view.path, 'other', view.default_branch)}
<h1>Pipeline #${p.id} ${statusIcon(summary.status)} ${summary.status}</h1>
<dl class="facts">
<dt>Commit</dt><dd>${commit ? html`<a href="${links.commit(view.path, commit.oid)}">${commitTitle(commit)}</a> <a class="sha" href="${links.commit(view.path, commit.oid)}">${shortSha(commit.oid)}</a>` : html`<code>${p.sha}</code>`}</dd>
<dt>Ref</dt><dd>${p.ref}</dd>
<dt>Created</dt><dd>${dateTime(p.createdAt, now)}</dd>
<dt>Updated</dt><dd>${dateTime(summary.updatedAt, now)}</dd>
<dt>Source</dt><dd>external (statuses posted through the API)</dd>
</dl>
<h2>Statuses</h2>
${statusTable(statuses, now)}`;
}
