import { notFound } from '../../errors.js';
import type { Ref, TagInfo } from '../../git/index.js';
import type { BranchFacts } from '../../gitlab/refs.js';
import { createBranch as createBranchIn, createTag as createTagIn, deleteBranch as deleteBranchIn, deleteTag as deleteTagIn } from '../../writes/refs.js';
import { checkUnmodifiedSince, type HandlerContext, pageOf, type Reply } from '../handle.js';
import { inRepositories } from './commit-writes.js';

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
  // Only v4 says whether a branch is merged (8.x always answered false). GitLab's
  // Repository#merged_to_root_ref? (and gitaly_merged_branch_names for lists) is
  // `!same_head && ancestor?`: a branch at the default branch's head is not merged.
  if (ctx.dialect === 'v4' && !isDefault && defaultBranch) {
    const head = repo.branch(defaultBranch);
    merged = head && head.oid !== ref.oid ? await repo.reaches(head.oid, ref.oid) : false;
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

// ---- writes (GitLab's Branches and Tags APIs: `authorize_push_project` / `authorize_admin_tag`, Developer+)

/** POST repository/branches: 201 with the Branch entity. */
export async function createBranch(ctx: HandlerContext, p: { branch: string; ref: string }): Promise<Reply> {
  ctx.require('push_project');
  const { project, grant, services } = ctx;
  await inRepositories(ctx, () =>
    createBranchIn(project.repo, grant!.user, {
      name: p.branch,
      ref: p.ref,
      isProtected: services.access.isProtected(project.path, p.branch),
      mayCreateProtected: services.access.can(grant, project.path, 'push_code', p.branch),
    }),
  );
  const ref = project.repo.branch(p.branch);
  if (!ref) throw notFound('Branch');
  return { status: 201, body: ctx.present.branch(await branchFacts(ctx, ref, await project.repo.defaultBranch()), project) };
}

/** DELETE repository/branches/:branch: 204. */
export async function deleteBranch(ctx: HandlerContext): Promise<Reply> {
  ctx.require('push_project');
  const { project, grant, services } = ctx;
  const name = ctx.path.branch;
  // destroy_conditionally!(commit, last_updated: commit.authored_date), once the branch is found.
  const branch = project.repo.branch(name);
  if (branch) await checkUnmodifiedSince(ctx, async () => new Date((await project.repo.readCommit(branch.oid)).author.timestamp * 1000));
  await inRepositories(ctx, () =>
    deleteBranchIn(project.repo, {
      name,
      isProtected: services.access.isProtected(project.path, name),
      mayDeleteProtected: services.access.can(grant, project.path, 'push_code', name),
    }),
  );
  return { status: 204, body: null };
}

/** POST repository/tags: 201 with the Tag entity (annotated, by the caller, when `message` is given). */
export async function createTag(ctx: HandlerContext, p: { tag_name: string; ref: string; message?: string }): Promise<Reply> {
  ctx.require('push_project');
  const { project, grant } = ctx;
  await inRepositories(ctx, () => createTagIn(project.repo, grant!.user, { name: p.tag_name, ref: p.ref, message: p.message }));
  const created = await project.repo.tag(p.tag_name);
  if (!created) throw notFound('Tag');
  return { status: 201, body: ctx.present.tag(created, project) };
}

/** DELETE repository/tags/:tag_name: 204. */
export async function deleteTag(ctx: HandlerContext): Promise<Reply> {
  ctx.require('push_project');
  await checkUnmodifiedSince(ctx, async () => {
    const commit = (await ctx.project.repo.tag(ctx.path.tag))?.commit;
    return commit ? new Date(commit.author.timestamp * 1000) : null;
  });
  await inRepositories(ctx, () => deleteTagIn(ctx.project.repo, ctx.path.tag));
  return { status: 204, body: null };
}
