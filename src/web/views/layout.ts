import { html, type HtmlValue, type SafeHtml } from '../html.js';
import { links } from '../links.js';
import { STYLESHEET_PATH } from '../stylesheet.js';
import type { Viewer } from './common.js';

/** A whole page: head, the top bar (who is signed in), the content. No script anywhere. */
export function layout(title: string, viewer: Viewer, content: HtmlValue): SafeHtml {
  const who = viewer.user
    ? html`<span class="muted">Signed in as <strong>${viewer.user.username}</strong></span>
        ${viewer.user.admin ? html`<a href="${links.control()}">Control plane</a>` : ''}
        <form class="inline" method="post" action="${links.logout()}"><input type="hidden" name="authenticity_token" value="${viewer.csrf ?? ''}"><button type="submit">Sign out</button></form>`
    : html`<a href="${links.login(viewer.here)}">Sign in</a>`;
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · fakelab</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header class="top"><a class="brand" href="${links.home()}">fakelab</a><a href="${links.home()}">Projects</a><span class="spacer"></span>${who}</header>
<main>
${content}
</main>
</body>
</html>
`;
}

/** A project's breadcrumbs and tabs. */
export function projectHeader(project: string, current: 'project' | 'commits' | 'branches' | 'tags' | 'other', defaultRef: string | null): SafeHtml {
  const tab = (name: typeof current, href: string, label: string) => (name === current ? html`<strong>${label}</strong>` : html`<a href="${href}">${label}</a>`);
  return html`<div class="crumbs"><a href="${links.project(project)}">${project}</a></div>
<nav class="tabs">${tab('project', links.project(project), 'Overview')}${defaultRef ? tab('commits', links.commits(project, defaultRef), 'Commits') : ''}${tab('branches', links.branches(project), 'Branches')}${tab('tags', links.tags(project), 'Tags')}</nav>`;
}
