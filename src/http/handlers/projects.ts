import { type ProjectView } from '../../gitlab/entities.js';
import { projectView } from '../../projects/view.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';

/** GET /projects: the projects the caller can see, searched and sorted as GitLab does. */
export async function list(ctx: HandlerContext, p: { search?: string; order_by: string; sort: string }): Promise<Reply> {
  const { registry, access } = ctx.services;
  const visible = (await registry.list()).filter((project) => access.canSee(ctx.grant, project.path));
  let views = await Promise.all(visible.map((project) => projectView(project, access.visibility(project.path))));
  if (p.search) {
    const needle = p.search.toLowerCase();
    views = views.filter((v) => v.path.toLowerCase().includes(needle) || (v.description ?? '').toLowerCase().includes(needle));
  }
  const key = (v: ProjectView): string | number =>
    p.order_by === 'name' ? v.name.toLowerCase()
    : p.order_by === 'path' ? v.path.split('/').pop()!.toLowerCase()
    : p.order_by === 'last_activity_at' || p.order_by === 'updated_at' ? v.last_activity_at
    : p.order_by === 'created_at' ? `${v.created_at}#${String(v.id).padStart(12, '0')}`
    : v.id;
  views.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return p.sort === 'asc' ? c : -c;
  });
  const { items, page } = pageOf(ctx, views);
  return { body: items.map((v) => ctx.present.project(v)), page };
}

/** GET /projects/:id. */
export async function show(ctx: HandlerContext): Promise<Reply> {
  return { body: ctx.present.project(await projectView(ctx.project, ctx.services.access.visibility(ctx.project.path))) };
}
