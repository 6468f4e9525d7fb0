import { forbidden, GitLabError, invalidParams, notFound, validationError } from '../../errors.js';
import { type ProjectView } from '../../gitlab/entities.js';
import { allNamespaces, type Namespace } from '../../projects/namespaces.js';
import { nameAndPath, namingErrors } from '../../projects/naming.js';
import type { FactsIndex } from '../../projects/facts.js';
import { PathTakenError, type Project } from '../../projects/registry.js';
import { projectView } from '../../projects/view.js';
import { lowerCaseMatcher, queryWords, searchMatcher } from '../../projects/search.js';
import { invalidBranchName } from '../../writes/paths.js';
import { checkUnmodifiedSince, type HandlerContext, pageOf, type Reply } from '../handle.js';

interface ListParams {
  simple?: boolean;
  search?: string;
  search_namespaces?: boolean;
  order_by: string;
  sort: string;
  id_after?: number;
  id_before?: number;
  pagination?: string;
  min_access_level?: number;
}

/**
 * GET /projects: the projects the caller can see, searched, bounded and sorted as GitLab's
 * ProjectsFinder does: ties (and created_at, which follows ids) are broken by id in the same
 * direction. `pagination=keyset` pages by id only, with a rel="next" Link carrying id_after
 * (or id_before when descending).
 */
export async function list(ctx: HandlerContext, p: ListParams): Promise<Reply> {
  const { registry, access } = ctx.services;
  const keyset = p.pagination === 'keyset';
  if (keyset && p.order_by !== 'id') throw keysetUnavailable();
  // present_projects: ProjectWithAccess for a signed-in caller, BasicProjectDetails for simple=true or anonymous.
  const shape = p.simple || !ctx.grant ? 'basic' : 'with_access';
  const byActivity = p.order_by === 'last_activity_at' || p.order_by === 'updated_at';
  // Ascending by the order's key (ties by id); filtering keeps the order, descending reverses it.
  const all = await registry.list();
  let ordered: readonly Project[];
  if (byActivity) {
    // Every project's facts as the registry last read them (FactsIndex), not 10,000 repositories
    // per request; those whose facts could not be read (gone, or moved outside the root) are left out.
    await registry.factsOfAll(all);
    ordered = orderedByActivity(all, registry.facts);
  } else ordered = orderedBy(all, p.order_by);
  let projects: readonly Project[] =
    !ctx.grant && p.min_access_level === undefined
      ? visibleToAnyone(ordered, (project) => access.canSee(null, project.path))
      : access.seesEveryProject(ctx.grant) && p.min_access_level === undefined
        ? // An admin sees every project: no filter (and no copy) of 10,000 per request.
          ordered
        : ordered.filter((project) => (p.min_access_level === undefined ? access.canSee(ctx.grant, project.path) : (access.memberAccessLevel(ctx.grant, project.path) ?? 0) >= p.min_access_level));
  if (p.id_after !== undefined) projects = projects.filter((project) => project.id > p.id_after!);
  if (p.id_before !== undefined) projects = projects.filter((project) => project.id < p.id_before!);
  // A project's view reads its facts afresh (HEAD, its branch, the description; the tip's commit
  // only when new): for the page only. A search matches every project's description as the
  // registry last read it (FactsIndex).
  if (p.search) {
    await registry.factsOfAll(all);
    const found = searchAll(all, registry.facts, p.search, p.search_namespaces === true);
    projects = projects.filter((project) => found.has(project));
  }
  const direction = p.sort === 'asc' ? 1 : -1;
  if (direction === -1) projects = projects.slice().reverse();
  const viewOf = async (project: Project): Promise<ProjectView | null> => {
    if (!(await registry.servable(project))) return null;
    return { ...(await projectView(project, access.visibility(project.path), (u) => access.userByName(u))), project_access: access.memberAccessLevel(ctx.grant, project.path) };
  };
  const present = async (page: Project[]) => {
    const shown = await Promise.all(page.map(viewOf));
    return shown.filter((v): v is ProjectView => v !== null).map((v) => ctx.present.project(v, shape));
  };
  if (keyset) {
    const items = projects.slice(0, ctx.window.perPage);
    // GitLab's keyset pager links a next page whenever this one is full.
    const last = items.length === ctx.window.perPage ? items[items.length - 1] : undefined;
    const bound: Record<string, number> | null = last === undefined ? null : direction === 1 ? { id_after: last.id } : { id_before: last.id };
    return { body: await present(items), page: { keysetNext: bound } };
  }
  const { items, page } = pageOf(ctx, projects);
  return { body: await present(items), page };
}

/** The projects ascending by `key`, ties by id; keys made once per project, not per comparison. */
function sortedByKey(projects: readonly Project[], key: (project: Project) => string | number): Project[] {
  const keyed = projects.map((project) => ({ project, key: key(project) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.project.id - b.project.id));
  return keyed.map((k) => k.project);
}

/** registry.list() (ascending ids) sorted by name or path, kept per list: it changes only when a project comes or goes. */
const orders = new WeakMap<readonly Project[], Map<string, readonly Project[]>>();

function orderedBy(all: readonly Project[], orderBy: string): readonly Project[] {
  const key =
    orderBy === 'name' ? (project: Project) => (project.created?.name ?? project.path.split('/').pop()!).toLowerCase()
    : orderBy === 'path' ? (project: Project) => project.path.split('/').pop()!.toLowerCase()
    : null;
  if (!key) return all;
  let byOrder = orders.get(all);
  if (!byOrder) orders.set(all, (byOrder = new Map()));
  let sorted = byOrder.get(orderBy);
  if (!sorted) byOrder.set(orderBy, (sorted = Object.freeze(sortedByKey(all, key))));
  return sorted;
}

/**
 * Every project's searched columns (the path's last segment, the name, the description), made
 * once per list and facts version: one lower-cased text of all of them, where a word is found by
 * indexOf over 10,000 projects at once, rather than a string per project tested in turn.
 */
interface SearchTable {
  version: number;
  projects: readonly Project[];
  /** Each project's columns, each followed by '\n' (which no query word holds), lower-cased. */
  text: string;
  /** Where each project's columns start in `text`, and the text's length last. */
  starts: Int32Array;
  /** The same of the full paths (search_namespaces), made when first asked for. */
  paths: { text: string; starts: Int32Array } | null;
}

const searchTables = new WeakMap<readonly Project[], SearchTable>();

function searchTable(all: readonly Project[], facts: FactsIndex): SearchTable {
  const kept = searchTables.get(all);
  if (kept?.version === facts.version) return kept;
  const version = facts.version;
  const { known, description } = facts.columnsOf(all);
  const projects: Project[] = [];
  const descriptions: (string | null)[] = [];
  for (let i = 0; i < all.length; i++) {
    if (!known[i]) continue;
    projects.push(all[i]);
    descriptions.push(description[i]);
  }
  const table = { version, projects, ...loweredText(projects, (project, i) => searchColumns(project, descriptions[i])), paths: null };
  searchTables.set(all, table);
  return table;
}

/** `columns` of every project, each followed by '\n', in one lower-cased text, with where each project's start. */
function loweredText(projects: readonly Project[], columns: (project: Project, i: number) => string[]): { text: string; starts: Int32Array } {
  const starts = new Int32Array(projects.length + 1);
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; i < projects.length; i++) {
    starts[i] = length;
    for (const column of columns(projects[i], i)) {
      parts.push(column);
      length += column.length + 1;
    }
  }
  starts[projects.length] = length;
  parts.push('');
  const raw = parts.join('\n');
  const text = raw.toLowerCase();
  if (text.length === raw.length) return { text, starts };
  // A letter whose lower case is longer (U+0130): lower-case project by project, so the starts hold.
  const pieces: string[] = [];
  let at = 0;
  for (let i = 0; i < projects.length; i++) {
    starts[i] = at;
    const piece = columns(projects[i], i).map((column) => `${column}\n`).join('').toLowerCase();
    pieces.push(piece);
    at += piece.length;
  }
  starts[projects.length] = at;
  return { text: pieces.join(''), starts };
}

/** The columns a search matches, as GitLab's (path, name, description), and the full path with search_namespaces. */
function searchColumns(project: Project, description: string | null | undefined, namespaces = false): string[] {
  const path = project.path.slice(project.path.lastIndexOf('/') + 1);
  return [path, project.created?.name ?? path, description ?? '', ...(namespaces ? [project.path] : [])];
}

/** The indexes of the projects whose text (see loweredText) holds `word`, ascending. */
function projectsHolding(text: string, starts: Int32Array, word: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(word); at >= 0; ) {
    // The project whose columns hold `at`: the last start at or before it.
    let lo = 0;
    let hi = starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    found.push(lo);
    // On to the next project: this one is found.
    at = text.indexOf(word, starts[lo + 1]);
  }
  return found;
}

/**
 * The projects `query` finds (searchMatcher's test). Only the projects whose columns hold every
 * one of the query's words somewhere are tested column by column.
 */
function searchAll(all: readonly Project[], facts: FactsIndex, query: string, namespaces: boolean): Set<Project> {
  const table = searchTable(all, facts);
  const { projects } = table;
  const lowered = lowerCaseMatcher(query);
  const found = new Set<Project>();
  if (!lowered) {
    const exactly = searchMatcher(query);
    for (const project of projects) if (exactly(searchColumns(project, facts.descriptionOf(project), namespaces))) found.add(project);
    return found;
  }
  if (namespaces) table.paths ??= loweredText(projects, (project) => [project.path]);
  // The projects holding the first word, narrowed by each other word.
  let candidates: number[] | null = null;
  for (const word of queryWords(query)) {
    const holding = new Set(projectsHolding(table.text, table.starts, word));
    if (table.paths) for (const i of projectsHolding(table.paths.text, table.paths.starts, word)) holding.add(i);
    candidates = candidates === null ? [...holding] : candidates.filter((i: number) => holding.has(i));
    if (candidates.length === 0) return found;
  }
  for (const i of candidates!.sort((a, b) => a - b)) {
    const project = projects[i];
    if (lowered(searchColumns(project, facts.descriptionOf(project), namespaces).map((column) => column.toLowerCase()))) found.add(project);
  }
  return found;
}

/** registry.list() by last activity (ties by id), kept while no project's last activity changes (FactsIndex.version). */
const activityOrders = new WeakMap<readonly Project[], { version: number; sorted: readonly Project[] }>();

function orderedByActivity(all: readonly Project[], facts: FactsIndex): readonly Project[] {
  const kept = activityOrders.get(all);
  if (kept?.version === facts.version) return kept.sorted;
  const version = facts.version;
  const { known, lastActivityMs } = facts.columnsOf(all);
  // Indexes of `all`, which ascends by id: ties by index are ties by id. Small integers, not
  // 10,000 objects, for a restart's first order to allocate and collect.
  const indexes: number[] = [];
  for (let i = 0; i < all.length; i++) if (known[i]) indexes.push(i);
  indexes.sort((a, b) => lastActivityMs[a] - lastActivityMs[b] || a - b);
  const sorted = Object.freeze(indexes.map((i) => all[i]));
  activityOrders.set(all, { version, sorted });
  return sorted;
}

/**
 * An order's projects an anonymous caller sees, kept per order: visibility changes with neither
 * (the access configuration is read at start; a created project's visibility is set at creation).
 */
const anonymousViews = new WeakMap<readonly Project[], readonly Project[]>();

function visibleToAnyone(ordered: readonly Project[], canSee: (project: Project) => boolean): Project[] {
  let visible = anonymousViews.get(ordered);
  if (!visible) anonymousViews.set(ordered, (visible = Object.freeze(ordered.filter(canSee))));
  return visible as Project[];
}

const keysetUnavailable = () => new GitLabError(405, { error: 'Keyset pagination is not yet available for this type of request' });


/** GET /projects/:id, with the caller's own membership as permissions.project_access. */
export async function show(ctx: HandlerContext): Promise<Reply> {
  const { access } = ctx.services;
  const view = await projectView(ctx.project, access.visibility(ctx.project.path), (u) => access.userByName(u));
  // GET /projects/:id: ProjectWithAccess for a signed-in caller, Entities::Project for anyone else.
  return { body: ctx.present.project({ ...view, project_access: access.memberAccessLevel(ctx.grant, ctx.project.path) }, ctx.grant ? 'with_access' : 'project') };
}

interface CreateParams {
  name?: string;
  path?: string;
  namespace_id?: string;
  description?: string;
  visibility?: string;
  default_branch?: string;
  initialize_with_readme: boolean;
}

const NAMESPACE_INVALID = { namespace: ['is not valid'] };

/**
 * POST /projects (Projects::CreateService): a new bare repository at `<namespace>/<path>.git`,
 * empty (HEAD naming `default_branch`, else main) or with a README commit by the caller on that
 * branch, registered with a new id. The namespace is `namespace_id` (its id, or its full path)
 * or the caller's own; the caller needs create_projects there (see mayCreateIn).
 */
export async function create(ctx: HandlerContext, p: CreateParams): Promise<Reply> {
  const { registry, access, users } = ctx.services;
  const grant = ctx.grant!;
  // Grape's at_least_one_of :name, :path
  if (p.name === undefined && p.path === undefined) throw invalidParams(['name, path are missing, at least one parameter must be provided']);
  const namespaces = await allNamespaces(registry, users.all());
  let namespace: Namespace | undefined;
  if (p.namespace_id === undefined || p.namespace_id === '') {
    namespace = namespaces.find((n) => n.kind === 'user' && n.owner!.id === grant.user.id);
  } else {
    const wanted = p.namespace_id;
    namespace = /^\d+$/.test(wanted) ? namespaces.find((n) => n.id === Number(wanted)) : namespaces.find((n) => n.full_path.toLowerCase() === wanted.toLowerCase());
  }
  // validate_create_permissions: a namespace that is not there or not the caller's to create in.
  if (!namespace || !(await mayCreateIn(ctx, namespace))) throw validationError(NAMESPACE_INVALID);
  const { name, path } = nameAndPath(p.name, p.path);
  const errors = namingErrors(name, path);
  if (Object.keys(errors).length > 0) throw validationError(errors);
  const fullPath = `${namespace.full_path}/${path}`;
  const taken = async (): Promise<Record<string, string[]>> => {
    const siblings = (await registry.list()).filter((other) => other.path.toLowerCase().startsWith(`${namespace.full_path.toLowerCase()}/`) && !other.path.slice(namespace.full_path.length + 1).includes('/'));
    const out: Record<string, string[]> = {};
    if (siblings.some((other) => (other.created?.name ?? other.path.split('/').pop()) === name)) {
      out['project_namespace.name'] = ['has already been taken'];
      out.name = ['has already been taken'];
    }
    // A subgroup (folder) of that path holds the route too.
    const folders = await registry.folders();
    if (siblings.some((other) => other.path.toLowerCase() === fullPath.toLowerCase()) || folders.some((f) => f.toLowerCase() === fullPath.toLowerCase())) {
      out.path = ['has already been taken'];
    }
    return out;
  };
  const clash = await taken();
  if (Object.keys(clash).length > 0) throw validationError(clash);
  const defaultBranch = p.default_branch || 'main';
  // Gitaly refuses a default branch that is not a valid ref: 'Failed to create repository'.
  if (invalidBranchName(defaultBranch)) throw validationError({ base: ['Failed to create repository'] });
  let project: Project;
  try {
    project = await registry.create(
      fullPath,
      {
        defaultBranch,
        description: p.description?.replace(/\s+/g, ' ').trim() || undefined,
        fill: p.initialize_with_readme ? (repo) => writeReadme(repo, defaultBranch, name, p.description ?? '', grant.user) : undefined,
      },
      { name, visibility: p.visibility as 'private' | 'internal' | 'public' | undefined, creator: namespace.kind === 'user' ? namespace.owner!.username : grant.user.username },
    );
  } catch (err) {
    if (err instanceof PathTakenError) {
      const again = await taken();
      throw validationError(Object.keys(again).length > 0 ? again : { path: ['has already been taken'] });
    }
    throw err;
  }
  const view = await projectView(project, access.visibility(project.path), (u) => access.userByName(u));
  ctx.services.hookEvents.projectEvent('project_create', view, [namespace.kind === 'user' ? (access.userByName(namespace.owner!.username) ?? grant.user) : grant.user], project.createdAt);
  return { status: 201, body: ctx.present.project({ ...view, project_access: access.memberAccessLevel(ctx.grant, project.path) }) };
}

/**
 * Who may create projects where (GitLab's create_projects ability, with what fakelab's access
 * configuration knows): an admin anywhere; a user in their own namespace; in a group (a folder of
 * the repos root), a user who is maintainer or owner of a project in it (GitLab's default
 * project_creation_level lets maintainers create; fakelab has no group memberships, so a
 * project membership stands for one).
 */
async function mayCreateIn(ctx: HandlerContext, namespace: Namespace): Promise<boolean> {
  const grant = ctx.grant!;
  if (grant.user.admin) return true;
  if (namespace.kind === 'user') return namespace.owner!.id === grant.user.id;
  const prefix = `${namespace.full_path.toLowerCase()}/`;
  const { access, registry } = ctx.services;
  return (await registry.list()).some((other) => other.path.toLowerCase().startsWith(prefix) && ['maintainer', 'owner'].includes(access.role(grant, other.path) ?? ''));
}

/** Projects::CreateService#create_readme: README.md on the default branch, by the caller, "Initial commit". */
async function writeReadme(repo: import('../../git/index.js').GitRepo, branch: string, name: string, description: string, user: { name: string; email: string }): Promise<void> {
  await repo.write(async (batch) => {
    const blob = await batch.writeBlob(Buffer.from(`# ${name}\n\n${description}`, 'utf8'));
    const index = await batch.readIndex(null);
    index.set('README.md', { mode: '100644', oid: blob });
    const tree = await batch.writeTree(index);
    const who = { name: user.name, email: user.email };
    const commit = await batch.writeCommit({ tree, parents: [], author: who, committer: who, message: 'Initial commit', when: new Date() });
    await batch.publishBranch(branch, null, commit);
  });
}

/**
 * DELETE /projects/:id (remove_project: owners and admins): 202 {"message":"202 Accepted"}. The
 * repository and its statuses and comments are gone when this answers (removed from disk in the
 * background); its id is never given again.
 */
export async function remove(ctx: HandlerContext): Promise<Reply> {
  const { access, registry } = ctx.services;
  if (!access.isOwner(ctx.grant, ctx.project.path)) throw forbidden();
  // Looked up again: another deletion or a reset may have run while this one waited for the gate.
  if ((await registry.findById(ctx.project.id)) !== ctx.project) throw notFound('Project');
  // destroy_conditionally!(user_project): its updated_at, which fakelab knows as the last activity.
  const view = await projectView(ctx.project, access.visibility(ctx.project.path), (u) => access.userByName(u));
  await checkUnmodifiedSince(ctx, async () => view.last_activity_at);
  await registry.remove(ctx.project);
  const owner = ctx.project.created?.creator ? access.userByName(ctx.project.created.creator) : undefined;
  ctx.services.hookEvents.projectEvent('project_destroy', view, owner ? [owner] : [], ctx.project.createdAt);
  // Its hooks go with it (GitLab destroys them with the project).
  await ctx.services.hooks.removeProject(ctx.project.id);
  return { status: 202, body: { message: '202 Accepted' } };
}
