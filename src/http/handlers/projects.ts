import { GitLabError } from '../../errors.js';
import { type ProjectView } from '../../gitlab/entities.js';
import { projectView } from '../../projects/view.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';

interface ListParams {
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
  // min_access_level lists the caller's authorized projects only: their memberships of at least that level.
  const visible = (await registry.list()).filter((project) =>
    p.min_access_level === undefined ? access.canSee(ctx.grant, project.path) : (access.memberAccessLevel(ctx.grant, project.path) ?? 0) >= p.min_access_level,
  );
  let views = await Promise.all(
    visible.map(async (project) => ({ ...(await projectView(project, access.visibility(project.path))), project_access: access.memberAccessLevel(ctx.grant, project.path) })),
  );
  if (p.id_after !== undefined) views = views.filter((v) => v.id > p.id_after!);
  if (p.id_before !== undefined) views = views.filter((v) => v.id < p.id_before!);
  if (p.search) {
    const matches = searchMatcher(p.search);
    views = views.filter((v) => matches([v.path.split('/').pop()!, v.name, v.description ?? '', ...(p.search_namespaces ? [v.path] : [])]));
  }
  const key = (v: ProjectView): string | number =>
    p.order_by === 'name' ? v.name.toLowerCase()
    : p.order_by === 'path' ? v.path.split('/').pop()!.toLowerCase()
    : p.order_by === 'last_activity_at' || p.order_by === 'updated_at' ? v.last_activity_at
    : v.id;
  const direction = p.sort === 'asc' ? 1 : -1;
  views.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return direction * (x < y ? -1 : x > y ? 1 : a.id - b.id);
  });
  if (keyset) {
    const items = views.slice(0, ctx.window.perPage);
    // GitLab's keyset pager links a next page whenever this one is full.
    const last = items.length === ctx.window.perPage ? items[items.length - 1] : undefined;
    const bound: Record<string, number> | null = last === undefined ? null : direction === 1 ? { id_after: last.id } : { id_before: last.id };
    return { body: items.map((v) => ctx.present.project(v)), page: { keysetNext: bound } };
  }
  const { items, page } = pageOf(ctx, views);
  return { body: items.map((v) => ctx.present.project(v)), page };
}

const keysetUnavailable = () => new GitLabError(405, { error: 'Keyset pagination is not yet available for this type of request' });

/**
 * Gitlab::SQL::Pattern's fuzzy search: every word of three characters or more (a quoted phrase
 * is one word) must occur in one column, case-insensitively; a query with no such word must
 * equal a column exactly.
 */
function searchMatcher(query: string): (columns: string[]) => boolean {
  const squished = query.trim().replace(/\s+/g, ' ');
  const words = (squished.match(/"[^"]+"|[^\s"]+/g) ?? []).map((w) => w.replace(/^"|"$/g, '').toLowerCase()).filter((w) => w.length >= 3);
  if (words.length === 0) return (columns) => columns.includes(squished);
  return (columns) => columns.some((column) => {
    const text = column.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** GET /projects/:id, with the caller's own membership as permissions.project_access. */
export async function show(ctx: HandlerContext): Promise<Reply> {
  const { access } = ctx.services;
  const view = await projectView(ctx.project, access.visibility(ctx.project.path));
  return { body: ctx.present.project({ ...view, project_access: access.memberAccessLevel(ctx.grant, ctx.project.path) }) };
}
