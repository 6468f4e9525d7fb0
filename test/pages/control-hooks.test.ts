import { expect } from 'chai';
import { escapeHtml } from '../../src/web/html.js';
import { Receiver } from '../hooks/receiver.js';
import { ADMIN, ALICE, type Lab, login, page, PUBLIC, startLab, unescapeHtml } from './lab.js';

/**
 * `/-/fakelab`'s webhook deliveries (issue 18): a delivery made by an API write shows with its
 * hook, event, URL, status, time and both bodies, newest first and bounded; a hostile receiver's
 * answer is text, not markup; and the hook's secret token never reaches the page.
 */

const TOKEN = 'hook-secret-Zq7"<tok>';
const HOSTILE = '<script>window.__pwned="hook"</script><img src=x onerror=alert(11)>';

/** The delivery rows of the page: [id, the row's markup], in page order. */
function rows(html: string): [number, string][] {
  return [...html.matchAll(/<tr class="delivery" data-id="(\d+)">([\s\S]*?)<\/tr>/g)].map((m) => [Number(m[1]), m[2]]);
}

describe('Pages: webhook deliveries on /-/fakelab', function () {
  let lab: Lab;
  let receiver: Receiver;
  let admin: string;
  const id = encodeURIComponent(PUBLIC);

  async function api(method: string, url: string, body?: Record<string, unknown>): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await fetch(`${lab.server.url}/api/v4${url}`, { method, headers: { 'PRIVATE-TOKEN': ADMIN, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, json: await res.json() };
  }

  before(async () => {
    lab = await startLab();
    receiver = await new Receiver().start();
    admin = await login(lab.server, ADMIN);
    // The receiver answers markup, and echoes the token it was sent (a careless receiver's debug answer).
    receiver.on('/notes', (r) => ({ status: 202, body: `${HOSTILE} got token ${String(r.headers['x-gitlab-token'])} and ${r.body.slice(0, 40)}`, headers: { 'x-echo-token': String(r.headers['x-gitlab-token']) } }));
    receiver.on('/broken', { status: 500, body: 'receiver fell over' });
  });
  after(async () => {
    await lab?.stop();
    await receiver?.stop();
  });

  it('shows a delivery made by an API write: hook, event, URL, status, time, request and response; the answer escaped, the token hidden', async () => {
    expect((await page(lab.server, '/-/fakelab', admin)).html).to.contain('No deliveries.');
    const hook = await api('POST', `/projects/${id}/hooks`, { url: `${receiver.url}/notes`, push_events: false, note_events: true, token: TOKEN });
    expect(hook.status).to.equal(201);
    const note = await api('POST', `/projects/${id}/repository/commits/${lab.sha.root}/comments`, { note: 'Looks <b>fine</b> to me' });
    expect(note.status).to.equal(201);
    await receiver.waitFor(1);
    await lab.server.hooksSettled();
    expect(receiver.received[0].headers['x-gitlab-token']).to.equal(TOKEN);

    const { status, html } = await page(lab.server, '/-/fakelab', admin);
    expect(status).to.equal(200);
    const list = rows(html);
    expect(list).to.have.length(1);
    const [, row] = list[0];
    expect(row).to.contain(`hook ${hook.json.id}`);
    expect(row).to.contain('Note Hook');
    expect(row).to.contain(`<code>${escapeHtml(`${receiver.url}/notes`)}</code>`);
    expect(row).to.match(/<td class="delivery-status status-success">202<\/td>/);
    const api_ = await fetch(`${lab.server.url}/-/fakelab/hooks/deliveries`, { headers: { 'PRIVATE-TOKEN': ADMIN } });
    const [recorded] = (await api_.json()) as { created_at: string; request: { body: { object_attributes: { note: string } } } }[];
    expect(row).to.contain(`<time datetime="${recorded.created_at}">`);
    // The request: the Note Hook's JSON (the note's text, escaped), the token header redacted.
    const request = unescapeHtml(/<pre class="message request">([\s\S]*?)<\/pre>/.exec(row)![1]);
    const shown = JSON.parse(request) as { headers: Record<string, string>; body: { object_kind: string; object_attributes: { note: string } } };
    expect(shown.body.object_kind).to.equal('note');
    expect(shown.body.object_attributes.note).to.equal('Looks <b>fine</b> to me');
    expect(shown.headers['X-Gitlab-Event']).to.equal('Note Hook');
    expect(shown.headers['X-Gitlab-Token']).to.equal('[REDACTED]');
    // The response: the receiver's markup as text, its echo of the token masked.
    const body = /<pre class="message response-body">([\s\S]*?)<\/pre>/.exec(row)![1];
    expect(unescapeHtml(body)).to.match(/^<script>window\.__pwned="hook"<\/script><img src=x onerror=alert\(11\)> got token \[REDACTED\] and /);
    expect(body).to.contain(escapeHtml(HOSTILE));
    const responseHeaders = JSON.parse(unescapeHtml(/<pre class="message response">([\s\S]*?)<\/pre>/.exec(row)![1])) as { headers: Record<string, string> };
    expect(responseHeaders.headers['x-echo-token']).to.equal('[REDACTED]');

    expect(html).not.to.contain(HOSTILE);
    expect(html).not.to.match(/<script/i);
    expect(html).not.to.match(/<img\b/i);
    // The token in no form: as sent, HTML-escaped, or JSON-escaped then HTML-escaped.
    for (const form of [TOKEN, escapeHtml(TOKEN), escapeHtml(JSON.stringify(TOKEN).slice(1, -1)), 'hook-secret-Zq7']) expect(html).not.to.contain(form);
    // The control plane's own list keeps it as sent (tests read it there).
    expect(JSON.stringify(recorded)).to.contain(JSON.stringify(TOKEN).slice(1, -1));
  });

  it('lists deliveries newest first, failed ones with their status, and only the newest 50', async () => {
    const comment = async (i: number) => expect((await api('POST', `/projects/${id}/repository/commits/${lab.sha.root}/comments`, { note: `note ${i}` })).status).to.equal(201);
    for (let i = 0; i < 58; i++) await comment(i);
    // Then a second hook whose receiver fails (twice: under GitLab's auto-disabling threshold).
    const broken = await api('POST', `/projects/${id}/hooks`, { url: `${receiver.url}/broken`, push_events: false, note_events: true });
    expect(broken.status).to.equal(201);
    for (let i = 58; i < 60; i++) await comment(i);
    await receiver.waitFor(1 + 60 + 2);
    await lab.server.hooksSettled();
    const recorded = (await (await fetch(`${lab.server.url}/-/fakelab/hooks/deliveries`, { headers: { 'PRIVATE-TOKEN': ADMIN } })).json()) as { id: number }[];
    expect(recorded.length).to.equal(63);
    const { html } = await page(lab.server, '/-/fakelab', admin);
    const list = rows(html);
    expect(list).to.have.length(50);
    expect(list.map(([n]) => n)).to.deep.equal(recorded.map((d) => d.id).reverse().slice(0, 50));
    expect(html).to.contain(`the newest 50 of ${recorded.length}`);
    expect((await page(lab.server, '/-/fakelab?path=/nothing', admin)).html).to.contain(`the newest 50 of ${recorded.length}`);
    const failed = html.split('<tr class="delivery"').find((row) => row.includes('/broken</code>'));
    expect(failed, 'a delivery to the failing receiver').to.be.a('string');
    expect(failed).to.match(/<td class="delivery-status status-failed">500<\/td>/);
    expect(failed).to.contain('receiver fell over');
  });

  it('is for admins only', async () => {
    expect((await page(lab.server, '/-/fakelab', await login(lab.server, ALICE))).status).to.equal(403);
  });
});
