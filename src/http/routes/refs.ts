import { Router, type Response } from 'express';
import { notFound } from '../../errors.js';
import type { Commit, Ref, TagInfo } from '../../git/index.js';
import { commitV4, type Dialect, type Urls } from '../../gitlab/entities.js';
import { gitDate } from '../../gitlab/format.js';
import type { Project } from '../../projects/registry.js';
import { context, projectFor, projectParam, type Services } from '../context.js';
import { pageWindow, setPaginationHeaders } from '../pagination.js';
import { paginationSpecs, params } from '../params.js';

const branchList = params({ search: { type: 'string' }, ...paginationSpecs });
const tagList = params({
  search: { type: 'string' },
  order_by: { type: 'string', values: ['name', 'updated', 'version'], default: 'updated' },
  sort: { type: 'string', values: ['asc', 'desc'], default: 'desc' },
  ...paginationSpecs,
});

/** GitLab's branch/tag `search`: substring, `^prefix`, `suffix$`, case-insensitive. */
function matchesSearch(name: string, search: string | undefined): boolean {
  if (!search) return true;
  const n = name.toLowerCase();
  let s = search.toLowerCase();
  const prefix = s.startsWith('^');
  const suffix = s.endsWith('$');
  s = s.slice(prefix ? 1 : 0, suffix ? -1 : undefined);
  if (prefix && suffix) return n === s;
  if (prefix) return n.startsWith(s);
  if (suffix) return n.endsWith(s);
  return n.includes(s);
}

/** The thin commit hash 8.x put inside branches and tags. */
function legacyRefCommit(c: Commit): Record<string, unknown> {
  return {
    id: c.oid,
    message: c.message,
    parent_ids: c.parents,
    authored_date: gitDate(c.author),
    author_name: c.author.name,
    author_email: c.author.email,
    committed_date: gitDate(c.committer),
    committer_name: c.committer.name,
    committer_email: c.committer.email,
  };
}

export function refsRouter(services: Services): Router {
  const router = Router();

  /** Whether the caller may push to a branch (the branch entity's can_push). */
  const pushRight = (res: Response, project: Project) => (branch: string) => {
    try {
      services.access.require(context(res).grant, project.path, 'push_code', branch);
      return true;
    } catch {
      return false;
    }
  };

  async function presentBranch(project: Project, ref: Ref, defaultBranch: string | null, dialect: Dialect, urls: Urls, canPush: (branch: string) => boolean) {
    const commit = await project.repo.readCommit(ref.oid);
    const isDefault = ref.name === defaultBranch;
    if (dialect === 'v3') {
      return { name: ref.name, commit: legacyRefCommit(commit), merged: false, protected: isDefault, developers_can_push: false, developers_can_merge: false };
    }
    let merged = false;
    if (!isDefault && defaultBranch) {
      const head = project.repo.branch(defaultBranch);
      merged = head ? await project.repo.reaches(head.oid, ref.oid) : false;
    }
    return {
      name: ref.name,
      commit: commitV4(commit, project.path, urls),
      merged,
      protected: isDefault,
      developers_can_push: false,
      developers_can_merge: false,
      can_push: canPush(ref.name),
      default: isDefault,
      web_url: `${urls.project(project.path)}/-/tree/${ref.name.split('/').map(encodeURIComponent).join('/')}`,
    };
  }

  function presentTag(project: Project, tag: TagInfo, dialect: Dialect, urls: Urls) {
    const { commit, annotation: annotated } = tag;
    const ref = tag;
    if (dialect === 'v3') {
      return { name: ref.name, message: annotated?.message.replace(/\n$/, '') ?? null, commit: commit ? legacyRefCommit(commit) : null, release: null };
    }
    return {
      name: ref.name,
      message: annotated ? annotated.message.replace(/\n$/, '') : '',
      target: ref.oid,
      commit: commit ? commitV4(commit, project.path, urls) : null,
      release: null,
      protected: false,
      created_at: annotated?.tagger ? gitDate(annotated.tagger) : null,
    };
  }

  router.get('/projects/:id/repository/branches', async (req, res) => {
    const { dialect, urls, baseUrl } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const p = branchList(req.query as Record<string, unknown>);
    const defaultBranch = await project.repo.defaultBranch();
    const branches = (await project.repo.branches()).filter((b) => matchesSearch(b.name, p.search));
    const window = pageWindow(p.page, p.per_page);
    const page = branches.slice(window.offset, window.offset + window.perPage);
    setPaginationHeaders(req, res, { window, count: page.length, total: branches.length, params: { ...req.query, ...p, id: projectParam(req) }, baseUrl });
    res.json(await Promise.all(page.map((b) => presentBranch(project, b, defaultBranch, dialect, urls, pushRight(res, project)))));
  });

  router.get('/projects/:id/repository/branches/:branch', async (req, res) => {
    const { dialect, urls } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const branch = project.repo.branch(String(req.params.branch));
    if (!branch) throw notFound('Branch');
    res.json(await presentBranch(project, branch, await project.repo.defaultBranch(), dialect, urls, pushRight(res, project)));
  });

  router.get('/projects/:id/repository/tags', async (req, res) => {
    const { dialect, urls, baseUrl } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const p = tagList(req.query as Record<string, unknown>);
    const tags = (await project.repo.tags()).filter((t) => matchesSearch(t.name, p.search));
    const keyed = tags.map((t) => ({ tag: t, time: t.commit?.committer.timestamp ?? 0 }));
    const cmp = (a: (typeof keyed)[number], b: (typeof keyed)[number]) => {
      if (p.order_by === 'updated') return a.time - b.time || (a.tag.name < b.tag.name ? -1 : 1);
      if (p.order_by === 'version') return a.tag.name.localeCompare(b.tag.name, undefined, { numeric: true });
      return a.tag.name < b.tag.name ? -1 : a.tag.name > b.tag.name ? 1 : 0;
    };
    keyed.sort((a, b) => (p.sort === 'asc' ? cmp(a, b) : -cmp(a, b)));
    const window = pageWindow(p.page, p.per_page);
    const page = keyed.slice(window.offset, window.offset + window.perPage);
    setPaginationHeaders(req, res, { window, count: page.length, total: keyed.length, params: { ...req.query, ...p, id: projectParam(req) }, baseUrl });
    res.json(page.map((k) => presentTag(project, k.tag, dialect, urls)));
  });

  router.get('/projects/:id/repository/tags/:tag', async (req, res) => {
    const { dialect, urls } = context(res);
    const project = await projectFor(services, req, res, 'read_code');
    const tag = await project.repo.tag(String(req.params.tag));
    if (!tag) throw notFound('Tag');
    res.json(presentTag(project, tag, dialect, urls));
  });

  return router;
}
