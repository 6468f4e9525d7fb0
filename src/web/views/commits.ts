import type { PipelineSummary } from '../../ci/statuses.js';
import type { Commit, FileDiff } from '../../git/index.js';
import { gitDate } from '../../gitlab/format.js';
import type { ProjectView } from '../../gitlab/entities.js';
import { html, type SafeHtml } from '../html.js';
import { links } from '../links.js';
import { commitLink, exactTime, person, shortSha, signatureTime, statusIcon } from './common.js';
import { diffFiles } from './diff.js';
import { projectHeader } from './layout.js';

export interface CommitRow {
  commit: Commit;
  pipeline: PipelineSummary | null;
}

function commitItem(project: string, { commit, pipeline }: CommitRow, now: Date): SafeHtml {
  const merge = commit.parents.length > 1;
  return html`<li class="commit${merge ? ' merge' : ''}" data-sha="${commit.oid}">
<span class="pipeline">${pipeline ? statusIcon(pipeline.status, links.pipeline(project, pipeline.pipeline.id)) : statusIcon(null)}</span>
<span class="title">${commitLink(project, commit)}${merge ? html` <span class="badge">merge</span>` : ''}
<div class="muted">${person(commit.author)} authored <span title="${exactTime(commit.author)}">${signatureTime(commit.author, now)}</span>${commit.committer.name !== commit.author.name || commit.committer.email !== commit.author.email ? html`, ${person(commit.committer)} committed` : ''}</div></span>
<a class="sha" href="${links.commit(project, commit.oid)}">${shortSha(commit.oid)}</a>
</li>`;
}

/** Commits as a list (no day headers). */
export function commitRows(project: string, rows: CommitRow[], now: Date): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">No commits.</p>`;
  return html`<ul class="commits">${rows.map((r) => commitItem(project, r, now))}</ul>`;
}

/** Commits under a header per day (the committer's own date), as a history reads. */
function byDay(project: string, rows: CommitRow[], now: Date): SafeHtml {
  const groups: { day: string; rows: CommitRow[] }[] = [];
  for (const row of rows) {
    const day = gitDate(row.commit.committer).slice(0, 10);
    const last = groups[groups.length - 1];
    if (last && last.day === day) last.rows.push(row);
    else groups.push({ day, rows: [row] });
  }
  return html`${groups.map((g) => html`<div class="day"><time datetime="${g.day}">${formatDay(g.day)}</time> <span class="muted">${g.rows.length} commit${g.rows.length === 1 ? '' : 's'}</span></div>${commitRows(project, g.rows, now)}`)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function formatDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return `${d} ${MONTHS[m - 1]}, ${y}`;
}

export interface CommitsPageData {
  view: ProjectView;
  ref: string;
  path?: string;
  page: number;
  rows: CommitRow[];
  hasNext: boolean;
}

/** `/<project>/-/commits/<ref>`. */
export function commitsPage(d: CommitsPageData, now: Date): SafeHtml {
  const project = d.view.path;
  return html`${projectHeader(project, 'commits', d.view.default_branch)}
<h1>Commits on <span class="ref">${d.ref}</span>${d.path ? html` touching <code class="path-filter">${d.path}</code>` : ''}</h1>
<form class="filters" method="get" action="${links.commits(project, d.ref)}"><input type="text" name="path" value="${d.path ?? ''}" placeholder="Only commits touching this path" aria-label="Path"><button type="submit">Filter</button>${d.path ? html` <a href="${links.commits(project, d.ref)}">All paths</a>` : ''}</form>
${d.rows.length === 0 ? html`<p class="muted">No commits${d.page > 1 ? ' on this page' : ''}.</p>` : byDay(project, d.rows, now)}
<nav class="pager">${d.page > 1 ? html`<a rel="prev" href="${links.commits(project, d.ref, { path: d.path, page: d.page - 1 })}">← Newer</a>` : ''}<span class="muted">Page ${d.page}</span>${d.hasNext ? html`<a rel="next" href="${links.commits(project, d.ref, { path: d.path, page: d.page + 1 })}">Older →</a>` : ''}</nav>`;
}

export interface ComparePageData {
  view: ProjectView;
  from: string;
  to: string;
  commits: CommitRow[];
  files: FileDiff[];
  overflow: boolean;
  sameCommit: boolean;
}

/** `/<project>/-/compare/<from>...<to>`. */
export function comparePage(d: ComparePageData, now: Date): SafeHtml {
  const project = d.view.path;
  return html`${projectHeader(project, 'other', d.view.default_branch)}
<h1>Compare <span class="ref">${d.from}</span>...<span class="ref">${d.to}</span></h1>
${d.sameCommit ? html`<p class="muted">These name the same commit: nothing to compare.</p>` : html`
<h2>${d.commits.length} commit${d.commits.length === 1 ? '' : 's'}</h2>
${commitRows(project, d.commits, now)}
<h2>Changes</h2>
${diffFiles(d.files, d.overflow, [])}`}`;
}
