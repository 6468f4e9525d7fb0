import { notFound } from '../../errors.js';
import { allNamespaces, type Namespace } from '../../projects/namespaces.js';
import { projectView } from '../../projects/view.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';

/**
 * Namespaces and groups (lib/api/namespaces.rb, lib/api/groups.rb), as fakelab has them
 * (projects/namespaces.ts): users' personal namespaces and the repos root's folders.
 */

/** API::Entities::Namespace (NamespaceBasic plus what the list shows). */
function namespaceEntity(ctx: HandlerContext, n: Namespace): Record<string, unknown> {
  return {
    id: n.id,
    name: n.name,
    path: n.path,
    kind: n.kind,
    full_path: n.full_path,
    parent_id: n.parent_id,
    avatar_url: null,
    web_url: n.kind === 'user' ? `${ctx.urls.base}/${n.full_path}` : `${ctx.urls.base}/groups/${n.full_path}`,
  };
}

/**
 * The namespaces a user has (GitLab: their own and the groups they are members of): an admin all
 * of them; anyone else their own and the groups holding a project they are a member of.
 */
async function visibleNamespaces(ctx: HandlerContext, ownedOnly = false): Promise<Namespace[]> {
  const { registry, users, access } = ctx.services;
  const all = await allNamespaces(registry, users.all());
  const grant = ctx.grant!;
  if (grant.user.admin && !ownedOnly) return all;
  // owned_only: the caller's own namespace and the groups they own (an owner of a project in it stands for that here).
  const memberOf = (await registry.list())
    .filter((p) => (ownedOnly ? access.memberAccessLevel(grant, p.path) === 50 : access.role(grant, p.path) !== null))
    .map((p) => p.path.toLowerCase());
  return all.filter((n) => (n.kind === 'user' ? n.owner!.id === grant.user.id : memberOf.some((p) => p.startsWith(`${n.full_path.toLowerCase()}/`))));
}

/** GET /namespaces: `owned_only` keeps the caller's own namespace and groups they own; `search` matches the path or name (case-insensitive substring), paged by id order of listing. */
export async function list(ctx: HandlerContext, p: { search?: string; owned_only: boolean }): Promise<Reply> {
  let namespaces = await visibleNamespaces(ctx, p.owned_only);
  if (p.search) {
    const q = p.search.toLowerCase();
    namespaces = namespaces.filter((n) => n.path.toLowerCase().includes(q) || n.name.toLowerCase().includes(q));
  }
  const { items, page } = pageOf(ctx, namespaces);
  return { body: items.map((n) => namespaceEntity(ctx, n)), page };
}

function findIn(namespaces: Namespace[], idParam: string): Namespace | undefined {
  return /^\d+$/.test(idParam) ? namespaces.find((n) => n.id === Number(idParam)) : namespaces.find((n) => n.full_path.toLowerCase() === idParam.toLowerCase());
}

/** GET /namespaces/:id (an id or a URL-encoded full path): 404 "Namespace Not Found" when the caller has no such namespace. */
export async function show(ctx: HandlerContext): Promise<Reply> {
  const namespace = findIn(await visibleNamespaces(ctx), ctx.projectParam);
  if (!namespace) throw notFound('Namespace');
  return { body: namespaceEntity(ctx, namespace) };
}

/**
 * GET /groups/:id: a folder of the repos root as GitLab's GroupDetail (every group is public
 * here), with the projects directly in it that the caller can see. A user's namespace is no group.
 */
export async function group(ctx: HandlerContext): Promise<Reply> {
  const { registry, users, access } = ctx.services;
  const namespace = findIn(
    (await allNamespaces(registry, users.all())).filter((n) => n.kind === 'group'),
    ctx.projectParam,
  );
  if (!namespace) throw notFound('Group');
  const prefix = `${namespace.full_path.toLowerCase()}/`;
  const listed = (await registry.list()).filter((p) => p.path.toLowerCase().startsWith(prefix) && !p.path.slice(prefix.length).includes('/') && access.canSee(ctx.grant, p.path));
  // Checked before their repositories are read (nothing outside the repos root).
  const servable = await Promise.all(listed.map((p) => registry.servable(p)));
  const inside = listed.filter((_, i) => servable[i]);
  const projects = await Promise.all(inside.map(async (p) => ctx.present.project(await projectView(p, access.visibility(p.path), (u) => access.userByName(u)), 'project')));
  return {
    body: {
      ...namespaceEntity(ctx, namespace),
      description: '',
      visibility: 'public',
      share_with_group_lock: false,
      require_two_factor_authentication: false,
      two_factor_grace_period: 48,
      project_creation_level: 'developer',
      auto_devops_enabled: null,
      subgroup_creation_level: 'maintainer',
      emails_disabled: false,
      emails_enabled: true,
      mentions_disabled: null,
      lfs_enabled: true,
      default_branch: null,
      default_branch_protection: 2,
      request_access_enabled: true,
      full_name: namespace.full_path.split('/').join(' / '),
      created_at: '2024-01-01T00:00:00.000Z',
      shared_with_groups: [],
      runners_token: undefined,
      projects,
      shared_projects: [],
    },
  };
}
