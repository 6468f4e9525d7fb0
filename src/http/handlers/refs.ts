import { notFound } from '../../errors.js';
import type { Ref, TagInfo } from '../../git/index.js';
import type { BranchFacts } from '../../gitlab/refs.js';
import { type HandlerContext, pageOf, type Reply } from '../handle.js';

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

async function branchFacts(ctx: HandlerContext, ref: Ref, defaultBranch: string | null): Promise<BranchFacts> {
  const { repo, path } = ctx.project;
  const isDefault = ref.name === defaultBranch;
  let merged = false;
  // Only v4 says whether a branch is merged (8.x always answered false).
  if (ctx.dialect === 'v4' && !isDefault && defaultBranch) {
    const head = repo.branch(defaultBranch);
    merged = head ? await repo.reaches(head.oid, ref.oid) : false;
  }
  return {
    name: ref.name,
    commit: await repo.readCommit(ref.oid),
    isDefault,
    isProtected: ctx.services.access.isProtected(path, ref.name),
    merged,
    canPush: ctx.services.access.can(ctx.grant, path, 'push_code', ref.name),
  };
}

/** GET repository/branches. */
export async function branches(ctx: HandlerContext, p: { search?: string }): Promise<Reply> {
  const defaultBranch = await ctx.project.repo.defaultBranch();
  const all = (await ctx.project.repo.branches()).filter((b) => matchesSearch(b.name, p.search));
  const { items, page } = pageOf(ctx, all);
  const facts = await Promise.all(items.map((b) => branchFacts(ctx, b, defaultBranch)));
  return { body: facts.map((b) => ctx.present.branch(b, ctx.project)), page };
}

/** GET repository/branches/:branch. */
export async function branch(ctx: HandlerContext): Promise<Reply> {
  const ref = ctx.project.repo.branch(ctx.path.branch);
  if (!ref) throw notFound('Branch');
  return { body: ctx.present.branch(await branchFacts(ctx, ref, await ctx.project.repo.defaultBranch()), ctx.project) };
}

/** GET repository/tags: by name, by the date of the commit they name ("updated"), or by version. */
export async function tags(ctx: HandlerContext, p: { search?: string; order_by: string; sort: string }): Promise<Reply> {
  const all = (await ctx.project.repo.tags()).filter((t) => matchesSearch(t.name, p.search));
  const time = (t: TagInfo) => t.commit?.committer.timestamp ?? 0;
  const cmp = (a: TagInfo, b: TagInfo) => {
    if (p.order_by === 'updated') return time(a) - time(b) || (a.name < b.name ? -1 : 1);
    if (p.order_by === 'version') return a.name.localeCompare(b.name, undefined, { numeric: true });
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  };
  all.sort((a, b) => (p.sort === 'asc' ? cmp(a, b) : -cmp(a, b)));
  const { items, page } = pageOf(ctx, all);
  return { body: items.map((t) => ctx.present.tag(t, ctx.project)), page };
}

/** GET repository/tags/:tag. */
export async function tag(ctx: HandlerContext): Promise<Reply> {
  const found = await ctx.project.repo.tag(ctx.path.tag);
  if (!found) throw notFound('Tag');
  return { body: ctx.present.tag(found, ctx.project) };
}
