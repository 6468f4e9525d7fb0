import type { Fault } from '../../control/faults.js';
import type { JournalEntry } from '../../control/journal.js';
import type { FakelabEvent } from '../../events/bus.js';
import { TRIGGERS, type Trigger } from '../../hooks/delivery.js';
import { html, type SafeHtml } from '../html.js';
import { links } from '../links.js';
import type { Viewer } from './common.js';

export interface ControlPageData {
  entries: JournalEntry[];
  /** How many the filter matched before the page's cut. */
  matched: number;
  capacity: number;
  filters: { method: string; path: string; status: string };
  faults: Fault[];
  events: { id: number; event: FakelabEvent }[];
  deliveries: DeliveryRow[];
  /** How many deliveries the server keeps (the last N). */
  deliveriesKept: number;
  /** How many it holds now, before the page's cut. */
  deliveriesHeld: number;
  controlPlane: boolean;
  /** The reset just happened. */
  resetDone: boolean;
}

/** A webhook delivery as the page shows it: tokens already redacted by the handler. */
export interface DeliveryRow {
  id: number;
  hookId: number;
  /** null for a system hook. */
  projectId: number | null;
  trigger: Trigger;
  test: boolean;
  url: string;
  createdAt: string;
  responseStatus: string;
  executionDuration: number;
  request: { headers: Record<string, string>; body: unknown };
  response: { headers: Record<string, string>; body: string };
}

function statusClass(status: string): string {
  return /^2\d\d$/.test(status) ? 'status-success' : 'status-failed';
}

function json(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 1);
}

/** `/-/fakelab`: the request journal (filtered), the faults in effect, the recent events and the reset button. */
export function controlPage(d: ControlPageData, viewer: Viewer): SafeHtml {
  if (!d.controlPlane) return html`<h1>Control plane</h1><p class="muted">The control plane is off (--control-plane off).</p>`;
  const f = d.filters;
  return html`<h1>Control plane</h1>
${d.resetDone ? html`<p class="notice">The server was reset to its state at start.</p>` : ''}
<form method="post" action="${links.reset()}" class="filters"><input type="hidden" name="authenticity_token" value="${viewer.csrf ?? ''}"><button type="submit" class="danger">Reset the server</button><span class="muted">back to the repositories, statuses and comments it started with; the journal and faults are cleared</span></form>
<h2>Requests <span class="muted">(${d.matched} matching, the journal keeps the last ${d.capacity})</span></h2>
<form class="filters" method="get" action="${links.control()}">
<input type="text" name="method" value="${f.method}" placeholder="Method" aria-label="Method" size="7">
<input type="text" name="path" value="${f.path}" placeholder="Path glob, e.g. /api/v4/projects/**" aria-label="Path" size="40">
<input type="text" name="status" value="${f.status}" placeholder="Status" aria-label="Status" size="5">
<button type="submit">Filter</button> <a href="${links.control()}">Clear</a></form>
${d.entries.length === 0 ? html`<p class="muted">No requests.</p>` : html`<table class="list journal"><thead><tr><th>#</th><th>Time</th><th>Method</th><th>Path</th><th>Status</th><th>ms</th><th>Fault</th></tr></thead><tbody>${d.entries.map(
  (e) => html`<tr class="journal-entry" data-id="${e.id}"><td>${e.id}</td><td><time datetime="${e.time}">${e.time.slice(11, 23)}</time></td><td>${e.method}</td><td><details><summary><code>${e.path}</code>${Object.keys(e.query).length > 0 ? html` <span class="muted">?${new URLSearchParams(Object.entries(e.query).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))).toString()}</span>` : ''}</summary><pre class="message">${json({ query: e.query, headers: e.headers, body: e.body })}</pre></details></td><td>${e.status ?? 'none'}</td><td>${e.duration_ms}</td><td>${e.fault ?? ''}</td></tr>`,
)}</tbody></table>`}
<h2>Faults <span class="muted">(${d.faults.length})</span></h2>
${d.faults.length === 0 ? html`<p class="muted">No faults in effect. POST /-/fakelab/faults adds one.</p>` : html`<table class="list faults"><thead><tr><th>#</th><th>Match</th><th>Answer</th><th>Left</th><th>Hits</th></tr></thead><tbody>${d.faults.map(
  (x) => html`<tr class="fault" data-id="${x.id}"><td>${x.id}</td><td><code>${x.match.method ?? '*'} ${x.match.path ?? '**'}</code></td><td><code>${json({ preset: x.preset, respond: x.respond, delay_ms: x.delay_ms, reset: x.reset })}</code></td><td>${x.remaining ?? '∞'}</td><td>${x.hits}</td></tr>`,
)}</tbody></table>`}
<h2>Recent events <span class="muted">(${d.events.length})</span></h2>
${d.events.length === 0 ? html`<p class="muted">No events.</p>` : html`<table class="list events"><thead><tr><th>#</th><th>When</th><th>Project</th><th>Via</th><th>By</th><th>Changes</th></tr></thead><tbody>${d.events.map(
  (e) => html`<tr class="event" data-id="${e.id}"><td>${e.id}</td><td><time datetime="${e.event.at}">${e.event.at.slice(11, 23)}</time></td><td><a href="${links.project(e.event.project.path)}">${e.event.project.path}</a></td><td>${e.event.via}</td><td>${e.event.actor?.username ?? ''}</td><td>${e.event.changes.map((c) => html`<div><code>${c.ref}</code> <span class="sha">${c.before.slice(0, 8)}</span> → <span class="sha">${c.after.slice(0, 8)}</span></div>`)}</td></tr>`,
)}</tbody></table>`}
<h2>Webhook deliveries <span class="muted">(the newest ${d.deliveries.length} of ${d.deliveriesHeld}; the server keeps the last ${d.deliveriesKept}, GET /-/fakelab/hooks/deliveries lists them)</span></h2>
${d.deliveries.length === 0 ? html`<p class="muted">No deliveries.</p>` : html`<table class="list deliveries"><thead><tr><th>#</th><th>Time</th><th>Hook</th><th>Event</th><th>URL</th><th>Status</th><th>s</th></tr></thead><tbody>${d.deliveries.map(
  (x) => html`<tr class="delivery" data-id="${x.id}"><td>${x.id}</td><td><time datetime="${x.createdAt}">${x.createdAt.slice(11, 23)}</time></td><td>${x.projectId === null ? html`system hook ${x.hookId}` : html`hook ${x.hookId} <span class="muted">(project ${x.projectId})</span>`}</td><td>${TRIGGERS[x.trigger] ?? x.trigger}${x.test ? html` <span class="muted">(test)</span>` : ''}</td><td class="wrap"><details><summary><code>${x.url}</code></summary><h3>Request</h3><pre class="message request">${json(x.request)}</pre><h3>Response</h3><pre class="message response">${json({ headers: x.response.headers })}</pre><pre class="message response-body">${x.response.body}</pre></details></td><td class="delivery-status ${statusClass(x.responseStatus)}">${x.responseStatus}</td><td>${x.executionDuration.toFixed(3)}</td></tr>`,
)}</tbody></table>`}`;
}
