import { expect } from 'chai';
import { removeDir, tempDir } from '../../support/fixtures.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { ciRepository, expectJson, raw, type RawReply, transition } from './replay.js';

/**
 * Renovate's GitLab platform. Follows renovatebot/renovate:
 * - lib/modules/platform/gitlab/index.ts setBranchStatus: state from yellow/red/green
 *   (pending/failed/success), then up to RENOVATE_X_GITLAB_BRANCH_STATUS_CHECK_ATTEMPTS + 1
 *   (default 3) GETs of projects/<repo>/repository/commits/<sha>, stopping once LastPipelineId
 *   parses, then POST projects/<repo>/statuses/<sha> with the JSON {state, description,
 *   context, target_url?, pipeline_id?}; a failure whose body.message starts with `Cannot
 *   transition status via :enqueue from :pending` is ignored; then getStatus(branch, false);
 * - same file, getStatus/getBranchStatusCheck/getBranchStatus: GET .../commits/<sha>/statuses,
 *   paginated, reading `name`, `status` and `allow_failure`; urlEscape turns only `/` into `%2F`;
 * - lib/modules/platform/gitlab/schema.ts LastPipelineId: z.object({last_pipeline:
 *   z.object({id: z.number()})}), so a null last_pipeline is "no pipeline yet";
 * - lib/util/http/gitlab.ts: pagination follows Link rel="next" only to the same origin;
 * - lib/util/http/auth.ts: a 20-character token goes in `Private-token`, others as Bearer.
 * The 1 s delay between attempts (RENOVATE_X_GITLAB_BRANCH_STATUS_DELAY) is not replayed. The
 * first three tests are one sequence on the same commit, in order, as Renovate runs them.
 */

const PROJECT = 'ci/renovate-target';
const TOKEN = 'glpat-renovate-00001';
const STABILITY = 'renovate/stability-days';

describe('CI replay: Renovate (GitLab platform)', () => {
  let reposDir: string;
  let server: TestServer;
  let commits: Record<string, string>;
  const repo = PROJECT.replace(/\//g, '%2F');

  const headers = (json: boolean): [string, string][] => [
    ['user-agent', 'RenovateBot/41.97.7 (https://github.com/renovatebot/renovate)'],
    ['accept', 'application/json'],
    ...(json ? ([['content-type', 'application/json']] as [string, string][]) : []),
    ['Private-token', TOKEN],
    ['accept-encoding', 'gzip, deflate, br'],
  ];

  interface Replayed {
    lookups: RawReply[];
    body: Record<string, unknown>;
    post: RawReply;
    /** What the catch block does with a failure: ignored, or a warning. */
    outcome: 'ok' | 'ignored' | 'warned';
  }

  /** setBranchStatus. */
  async function setBranchStatus(sha: string, context: string, state: 'yellow' | 'red' | 'green', description: string, url?: string): Promise<Replayed> {
    const options: Record<string, unknown> = { state: state === 'yellow' ? 'pending' : state === 'red' ? 'failed' : 'success', description, context };
    if (url) options.target_url = url;
    const lookups: RawReply[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${repo}/repository/commits/${sha}`, headers: headers(false) });
      lookups.push(r);
      const lp = r.status === 200 ? r.body.last_pipeline : undefined;
      if (lp && typeof lp === 'object' && typeof lp.id === 'number') options.pipeline_id = lp.id;
      if (options.pipeline_id !== undefined) break;
    }
    const post = await raw(server.url, { method: 'POST', target: `/api/v4/projects/${repo}/statuses/${sha}`, headers: headers(true), body: JSON.stringify(options) });
    let outcome: Replayed['outcome'] = 'ok';
    if (post.status >= 400) {
      const message = post.body?.message;
      outcome = typeof message === 'string' && message.startsWith(transition('enqueue', 'pending')) ? 'ignored' : 'warned';
    }
    return { lookups, body: options, post, outcome };
  }

  /** getStatus: every page, following rel="next" only to the same origin. */
  async function getStatus(sha: string): Promise<Json[]> {
    let target = `/api/v4/projects/${repo}/repository/commits/${sha}/statuses`;
    const out: Json[] = [];
    for (let guard = 0; guard < 50; guard++) {
      const r = await raw(server.url, { method: 'GET', target, headers: headers(false) });
      expectJson(r, 200, 'getStatus');
      out.push(...r.body);
      const next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.link ?? '')?.[1];
      if (!next) return out;
      const nextUrl = new URL(next);
      expect(nextUrl.origin, 'rel="next" must stay on the origin Renovate called').to.equal(new URL(server.url).origin);
      target = nextUrl.pathname + nextUrl.search;
    }
    throw new Error('pagination did not end');
  }

  before(async () => {
    reposDir = tempDir('fakelab-replay-renovate-');
    commits = (await ciRepository(PROJECT, reposDir)).commits;
    server = await startTestServer({ reposDir, token: TOKEN });
  });

  after(async () => {
    await server?.stop();
    if (reposDir) removeDir(reposDir);
  });

  it('right after a push there is no pipeline: three lookups see last_pipeline null, the post goes without pipeline_id', async () => {
    const sha = commits.f1;
    const first = await setBranchStatus(sha, STABILITY, 'yellow', 'Updates have not met minimum release age requirement');
    expect(first.lookups).to.have.length(3);
    for (const l of first.lookups) {
      expectJson(l, 200, 'commit lookup');
      expect(l.body).to.have.property('last_pipeline', null);
    }
    expect(first.body).to.not.have.property('pipeline_id');
    expectJson(first.post, 201, 'status post');
    expect(first.post.body).to.include({ name: STABILITY, status: 'pending', ref: 'feature' });
  });

  it('then last_pipeline.id is a number at the first lookup; the post names that pipeline_id', async () => {
    const sha = commits.f1;
    const green = await setBranchStatus(sha, 'renovate/artifacts', 'green', 'Artifact file update success', 'https://docs.renovatebot.com/');
    expect(green.lookups).to.have.length(1);
    expect(green.lookups[0].body.last_pipeline.id).to.be.a('number');
    expect(green.body.pipeline_id).to.equal(green.lookups[0].body.last_pipeline.id);
    expectJson(green.post, 201, 'status post with pipeline_id');
    expect(green.post.body).to.include({ name: 'renovate/artifacts', status: 'success', pipeline_id: green.body.pipeline_id, target_url: 'https://docs.renovatebot.com/' });
  });

  it('yellow again on a pending status: 400 whose message starts with the text Renovate ignores; green then moves the same row', async () => {
    const sha = commits.f1;
    const again = await setBranchStatus(sha, STABILITY, 'yellow', 'Updates have not met minimum release age requirement');
    expectJson(again.post, 400, 'pending on pending');
    expect(again.outcome).to.equal('ignored');

    const before = (await getStatus(sha)).find((s) => s.name === STABILITY);
    const green = await setBranchStatus(sha, STABILITY, 'green', 'Updates have met minimum release age requirement');
    expectJson(green.post, 201, 'green');
    expect(green.post.body.id).to.equal(before.id);

    // getBranchStatusCheck(branch, context): the first element named like the context.
    const checks = await getStatus(sha);
    expect(checks.find((s) => s.name === STABILITY)).to.include({ status: 'success', allow_failure: false });
    // getBranchStatus: every check's status maps to a Renovate colour, allow_failure is a boolean.
    for (const s of checks) {
      expect(['pending', 'running', 'success', 'failed', 'canceled', 'skipped', 'created']).to.include(s.status);
      expect(s.allow_failure).to.be.a('boolean');
    }
  });

  it('red posts failed: 201, and the commit\'s status and last_pipeline then read failed', async () => {
    const sha = commits.c5;
    expectJson((await setBranchStatus(sha, 'renovate/merge-confidence', 'red', 'Merge confidence is low')).post, 201, 'red');
    const detail = await raw(server.url, { method: 'GET', target: `/api/v4/projects/${repo}/repository/commits/${sha}`, headers: headers(false) });
    expect(detail.body.status).to.equal('failed');
    expect(detail.body.last_pipeline).to.include({ sha, status: 'failed' });
  });

  it('getStatus follows rel="next" on the same origin across pages (21 contexts, 20 a page)', async () => {
    const sha = commits.c4;
    for (let i = 0; i < 21; i++) expectJson((await setBranchStatus(sha, `renovate/check-${String(i).padStart(2, '0')}`, 'green', `check ${i}`)).post, 201, `check ${i}`);
    const all = await getStatus(sha);
    expect(all.map((s) => s.name)).to.deep.equal(Array.from({ length: 21 }, (_, i) => `renovate/check-${String(i).padStart(2, '0')}`));
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
