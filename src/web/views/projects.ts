import type { Commit, TagInfo } from '../../git/index.js';
import type { ProjectView } from '../../gitlab/entities.js';
import type { PipelineSummary } from '../../ci/statuses.js';
import { html, type SafeHtml } from '../html.js';
import { links } from '../links.js';
import { commitLink, dateTime, person, shortSha, signatureTime, statusIcon } from './common.js';
import { projectHeader } from './layout.js';
import { commitRows } from './commits.js';

export interface ProjectRow {
  view: ProjectView;
}

/** `/`: the projects the viewer can see, with a search box. */
export function projectsPage(projects: ProjectView[], search: string, now: Date): SafeHtml {
  const rows = projects.map(
    (p) => html`<tr>
<td><a href="${links.project(p.path)}" class="project-link">${p.path}</a>${p.description ? html`<div class="muted">${p.description}</div>` : ''}</td>
<td><span class="badge">${p.visibility}</span></td>
<td>${p.default_branch ? html`<a href="${links.commits(p.path, p.default_branch)}">${p.default_branch}</a>` : html`<span class="muted">empty</span>`}</td>
<td>${dateTime(p.last_activity_at, now)}</td>
</tr>`,
  );
  return html`<h1>Projects</h1>
<form class="filters" method="get" action="${links.home()}"><input type="search" name="search" value="${search}" placeholder="Search projects" aria-label="Search projects"><button type="submit">Search</button>${search ? html` <a href="${links.home()}">Clear</a>` : ''}</form>
${projects.length === 0
  ? html`<p class="muted">${search ? 'No project matches this search.' : 'No projects to show.'}</p>`
  : html`<table class="list projects"><thead><tr><th>Project</th><th>Visibility</th><th>Default branch</th><th>Last activity</th></tr></thead><tbody>${rows}</tbody></table>`}`;
}

/** A ref with its newest commit and that commit's pipeline. */
export interface RefRow {
  name: string;
  commit: Commit | null;
  pipeline: PipelineSummary | null;
  isDefault?: boolean;
  annotation?: TagInfo['annotation'];
}

function refTable(project: string, rows: RefRow[], kind: 'branch' | 'tag', now: Date): SafeHtml {
  const body = rows.map(
    (r) => html`<tr class="ref" data-ref="${r.name}">
<td><a href="${links.commits(project, r.name)}" class="ref-link">${r.name}</a>${r.isDefault ? html` <span class="badge">default</span>` : ''}${r.annotation ? html`<div class="muted">${r.annotation.message.split('\n')[0]}</div>` : ''}</td>
<td>${r.pipeline ? statusIcon(r.pipeline.status, links.pipeline(project, r.pipeline.pipeline.id)) : statusIcon(null)}</td>
<td>${r.commit ? html`${commitLink(project, r.commit)} <a href="${links.commit(project, r.commit.oid)}" class="sha">${shortSha(r.commit.oid)}</a>` : html`<span class="muted">not a commit</span>`}</td>
<td>${r.commit ? html`${person(r.commit.author)} · ${signatureTime(r.commit.committer, now)}` : ''}</td>
</tr>`,
  );
  return html`<table class="list refs ${kind}es"><thead><tr><th>${kind === 'branch' ? 'Branch' : 'Tag'}</th><th>Pipeline</th><th>Newest commit</th><th>Author</th></tr></thead><tbody>${body}</tbody></table>`;
}

export interface ProjectPageData {
  view: ProjectView;
  branches: RefRow[];
  branchCount: number;
  tags: RefRow[];
  tagCount: number;
  commits: { commit: Commit; pipeline: PipelineSummary | null }[];
}

/** `/<project>`: branches and tags with their newest commit and pipeline, and the newest commits. */
export function projectPage(d: ProjectPageData, now: Date): SafeHtml {
  const p = d.view;
  return html`${projectHeader(p.path, 'project', p.default_branch)}
<h1>${p.name} <span class="badge">${p.visibility}</span></h1>
${p.description ? html`<p>${p.description}</p>` : ''}
${p.empty_repo ? html`<p class="muted">This repository is empty.</p>` : html`
<h2>Branches <span class="muted">(${d.branchCount})</span></h2>
${refTable(p.path, d.branches, 'branch', now)}
${d.branchCount > d.branches.length ? html`<p><a href="${links.branches(p.path)}">All ${d.branchCount} branches</a></p>` : ''}
<h2>Tags <span class="muted">(${d.tagCount})</span></h2>
${d.tags.length > 0 ? refTable(p.path, d.tags, 'tag', now) : html`<p class="muted">No tags.</p>`}
${d.tagCount > d.tags.length ? html`<p><a href="${links.tags(p.path)}">All ${d.tagCount} tags</a></p>` : ''}
<h2>Newest commits on <a href="${links.commits(p.path, p.default_branch!)}">${p.default_branch}</a></h2>
${commitRows(p.path, d.commits, now)}`}`;
}

export function branchesPage(view: ProjectView, rows: RefRow[], search: string, now: Date): SafeHtml {
  return html`${projectHeader(view.path, 'branches', view.default_branch)}
<h1>Branches</h1>
<form class="filters" method="get" action="${links.branches(view.path)}"><input type="search" name="search" value="${search}" placeholder="Filter by branch name" aria-label="Filter by branch name"><button type="submit">Filter</button></form>
${rows.length > 0 ? refTable(view.path, rows, 'branch', now) : html`<p class="muted">No branches${search ? ' match this filter' : ''}.</p>`}`;
}

export function tagsPage(view: ProjectView, rows: RefRow[], now: Date): SafeHtml {
  return html`${projectHeader(view.path, 'tags', view.default_branch)}
<h1>Tags</h1>
${rows.length > 0 ? refTable(view.path, rows, 'tag', now) : html`<p class="muted">No tags.</p>`}`;
}
