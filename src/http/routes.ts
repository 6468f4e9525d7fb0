import * as archives from './handlers/archive.js';
import * as blame from './handlers/blame.js';
import * as commitWrites from './handlers/commit-writes.js';
import * as comments from './handlers/comments.js';
import * as control from './handlers/control.js';
import * as commits from './handlers/commits.js';
import * as diffs from './handlers/diffs.js';
import * as discussions from './handlers/discussions.js';
import * as meta from './handlers/meta.js';
import * as namespaces from './handlers/namespaces.js';
import * as pages from './handlers/pages.js';
import * as projects from './handlers/projects.js';
import * as refs from './handlers/refs.js';
import * as repository from './handlers/repository.js';
import * as statuses from './handlers/statuses.js';
import * as pipelines from './handlers/pipelines.js';
import * as hooks from './handlers/hooks.js';
import { endpoint, type Route } from './handle.js';
import type { PageRoute } from './pages.js';
import { paginationSpecs as paged, params } from './params.js';

/**
 * Every endpoint of the API, one entry each: method and path (under /api/v4 and /api/v3), the
 * ability it needs (checked on the project `:id` names before anything else), and per dialect
 * its parameters and handler. A dialect without an entry answers 404 `{"error":"404 Not Found"}`
 * as GitLab does for a route it lacks.
 */

/** per_page of GET /projects/:id/hooks/:hook_id/events: 1 to 20. */
const HOOK_EVENTS_PER_PAGE = Array.from({ length: 20 }, (_, i) => i + 1);
const none = params({});
/** The request body and query as they came: the handler parses them itself (create commit collects Grape's messages for its top-level params and its actions together). */
const raw = Object.assign((input: Record<string, unknown>) => input, { specs: {} }) as unknown as typeof none;

const STATUS_STATES = ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'] as const;
const statusPost = {
  ref: { type: 'string' },
  name: { type: 'string' },
  context: { type: 'string' },
  target_url: { type: 'string' },
  description: { type: 'string' },
  coverage: { type: 'number' },
} as const;
const statusFilters = { ref: { type: 'string' }, stage: { type: 'string' }, name: { type: 'string' }, all: { type: 'boolean', default: false } } as const;
const commentPost = {
  note: { type: 'string', required: true },
  path: { type: 'string' },
  line: { type: 'integer' },
  line_type: { type: 'string', values: ['new', 'old'], default: 'new' },
} as const;
const compareParams = {
  from: { type: 'string', required: true },
  to: { type: 'string', required: true },
  from_project_id: { type: 'integer' },
  straight: { type: 'boolean', default: false },
  unidiff: { type: 'boolean', default: false },
} as const;
const pickParams = params({ branch: { type: 'string', required: true }, dry_run: { type: 'boolean', default: false }, message: { type: 'string' } });
const tagList = params({
  search: { type: 'string' },
  order_by: { type: 'string', values: ['name', 'updated', 'version'], default: 'updated' },
  sort: { type: 'string', values: ['asc', 'desc'], default: 'desc' },
  ...paged,
});
const branchList = params({ search: { type: 'string' }, ...paged });

export const ROUTES: Route[] = [
  // ---- meta
  { method: 'GET', path: '/user', ability: 'user', v4: endpoint(none, meta.currentUser), v3: endpoint(none, meta.currentUser) },
  { method: 'GET', path: '/version', ability: 'user', v4: endpoint(none, meta.version), v3: endpoint(none, meta.version) },

  // ---- projects
  ...(() => {
    const common = {
      search: { type: 'string' },
      order_by: { type: 'string', values: ['id', 'name', 'path', 'created_at', 'updated_at', 'last_activity_at'], default: 'created_at' },
      sort: { type: 'string', values: ['asc', 'desc'], default: 'desc' },
      simple: { type: 'boolean' },
      ...paged,
    } as const;
    // Keyset pagination and the id bounds came after 8.x; GitLab 8.x ignored them as unknown.
    const v4 = endpoint(
      params({
        ...common,
        search_namespaces: { type: 'boolean' },
        id_after: { type: 'integer' },
        id_before: { type: 'integer' },
        pagination: { type: 'string', values: ['offset', 'keyset'], default: 'offset' },
        min_access_level: { type: 'integer', values: [10, 20, 30, 40, 50] },
      }),
      projects.list,
    );
    const v3 = endpoint(params(common), projects.list);
    return [{ method: 'GET', path: '/projects', ability: 'none', v4, v3 } satisfies Route];
  })(),
  { method: 'GET', path: '/projects/:id', ability: 'read_project', v4: endpoint(none, projects.show), v3: endpoint(none, projects.show) },

  // ---- commits
  {
    method: 'GET',
    path: '/projects/:id/repository/commits',
    ability: 'read_code',
    v4: endpoint(
      params({
        ref_name: { type: 'string' },
        since: { type: 'datetime' },
        until: { type: 'datetime' },
        path: { type: 'string' },
        author: { type: 'string' },
        all: { type: 'boolean' },
        with_stats: { type: 'boolean' },
        first_parent: { type: 'boolean' },
        order: { type: 'string', values: ['default', 'topo'], default: 'default' },
        trailers: { type: 'boolean', default: false },
        ...paged,
      }),
      commits.list,
    ),
    // GitLab 8.x: 0-based pages, no pagination headers.
    v3: endpoint(
      params({
        ref_name: { type: 'string' },
        since: { type: 'datetime' },
        until: { type: 'datetime' },
        path: { type: 'string' },
        page: { type: 'integer', min: 0, default: 0 },
        per_page: { type: 'integer', min: 1, default: 20 },
      }),
      commits.listV3,
    ),
  },
  {
    method: 'POST',
    path: '/projects/:id/repository/commits',
    // The project first (404 for one the caller cannot see); push_code on `branch` once the params are valid.
    ability: 'read_project',
    v4: endpoint(
      raw,
      commitWrites.createV4(
        params({
          branch: { type: 'string', required: true },
          commit_message: { type: 'string', required: true },
          start_branch: { type: 'string' },
          start_sha: { type: 'string' },
          start_project: { type: 'string' },
          author_email: { type: 'string' },
          author_name: { type: 'string' },
          stats: { type: 'boolean', default: true },
          force: { type: 'boolean', default: false },
          // actions: Grape's array of hashes, validated in handlers/commit-writes.ts
        }),
      ),
      'all',
    ),
    v3: endpoint(
      raw,
      commitWrites.createV3(
        params({
          branch_name: { type: 'string', required: true },
          commit_message: { type: 'string', required: true },
          author_email: { type: 'string' },
          author_name: { type: 'string' },
        }),
      ),
      'all',
    ),
  },
  {
    method: 'GET',
    path: '/projects/:id/repository/commits/:sha',
    ability: 'read_code',
    v4: endpoint(params({ stats: { type: 'boolean', default: true } }), commits.show),
    // 8.x always sent stats.
    v3: endpoint(none, commits.show),
  },
  {
    method: 'GET',
    path: '/projects/:id/repository/commits/:sha/refs',
    ability: 'read_code',
    v4: endpoint(params({ type: { type: 'string', values: ['branch', 'tag', 'all'], default: 'all' }, ...paged }), commits.refs),
  },
  { method: 'GET', path: '/projects/:id/repository/commits/:sha/sequence', ability: 'read_code', v4: endpoint(params({ first_parent: { type: 'boolean', default: false } }), commits.sequence) },
  {
    method: 'GET',
    path: '/projects/:id/repository/commits/:sha/diff',
    ability: 'read_code',
    v4: endpoint(params({ unidiff: { type: 'boolean', default: false }, ...paged }), diffs.commitDiff),
    v3: endpoint(none, diffs.commitDiffV3),
  },
  { method: 'GET', path: '/projects/:id/repository/compare', ability: 'read_code', v4: endpoint(params(compareParams), diffs.compare), v3: endpoint(params(compareParams), diffs.compareV3) },
  {
    method: 'GET',
    path: '/projects/:id/repository/commits/:sha/merge_requests',
    ability: 'read_code',
    v4: endpoint(params({ state: { type: 'string', values: ['opened', 'closed', 'locked', 'merged'] }, ...paged }), commits.mergeRequests),
  },
  { method: 'GET', path: '/projects/:id/repository/commits/:sha/signature', ability: 'read_code', v4: endpoint(none, diffs.signature) },
  // push_code on `branch` is checked once the params are valid. 8.x had cherry_pick (8.15+) but no revert.
  { method: 'POST', path: '/projects/:id/repository/commits/:sha/cherry_pick', ability: 'read_project', v4: endpoint(pickParams, commitWrites.pick('cherry-pick'), 'all'), v3: endpoint(pickParams, commitWrites.pick('cherry-pick'), 'all') },
  { method: 'POST', path: '/projects/:id/repository/commits/:sha/revert', ability: 'read_project', v4: endpoint(pickParams, commitWrites.pick('revert'), 'all') },

  // ---- branches and tags
  { method: 'GET', path: '/projects/:id/repository/branches', ability: 'read_code', v4: endpoint(branchList, refs.branches), v3: endpoint(branchList, refs.branches) },
  { method: 'GET', path: '/projects/:id/repository/branches/:branch', ability: 'read_code', v4: endpoint(none, refs.branch), v3: endpoint(none, refs.branch) },
  { method: 'GET', path: '/projects/:id/repository/tags', ability: 'read_code', v4: endpoint(tagList, refs.tags), v3: endpoint(tagList, refs.tags) },
  { method: 'GET', path: '/projects/:id/repository/tags/:tag', ability: 'read_code', v4: endpoint(none, refs.tag), v3: endpoint(none, refs.tag) },

  // ---- repository contents (GitLab 9.0+: v4 only here); the Files API also takes read_repository tokens (http/auth.ts)
  {
    method: 'GET',
    path: '/projects/:id/repository/tree',
    ability: 'read_code',
    v4: endpoint(
      params({
        ref: { type: 'string' },
        path: { type: 'string' },
        recursive: { type: 'boolean', default: false },
        ...paged,
        pagination: { type: 'string', values: ['legacy', 'keyset', 'none'], default: 'legacy' },
        page_token: { type: 'string' },
      }),
      repository.tree,
    ),
  },
  // HEAD of the file answers its X-Gitlab-* headers alone (Express answers HEAD with the GET row, without the body).
  { method: 'GET', path: '/projects/:id/repository/files/:file_path', ability: 'read_code', v4: endpoint(params({ ref: { type: 'string', required: true, allowBlank: false } }), repository.file) },
  {
    method: 'GET',
    path: '/projects/:id/repository/files/:file_path/raw',
    ability: 'read_code',
    v4: endpoint(params({ ref: { type: 'string', allowBlank: false }, lfs: { type: 'boolean', default: false } }), repository.fileRaw),
  },
  { method: 'GET', path: '/projects/:id/repository/blobs/:sha', ability: 'read_code', v4: endpoint(none, repository.blob) },
  { method: 'GET', path: '/projects/:id/repository/blobs/:sha/raw', ability: 'read_code', v4: endpoint(none, repository.blobRaw) },
  { method: 'GET', path: '/projects/:id/repository/merge_base', ability: 'read_code', v4: endpoint(params({ refs: { type: 'array', required: true } }), repository.mergeBase) },
  {
    method: 'GET',
    path: '/projects/:id/repository/contributors',
    ability: 'read_code',
    v4: endpoint(
      params({
        ...paged,
        ref: { type: 'string' },
        order_by: { type: 'string', values: ['email', 'name', 'commits'], default: 'commits' },
        sort: { type: 'string', values: ['asc', 'desc'], default: 'asc' },
      }),
      repository.contributors,
    ),
  },

  // ---- statuses (a signed-in user first, as GitLab's authenticate! runs before the lookup)
  {
    method: 'POST',
    path: '/projects/:id/statuses/:sha',
    ability: 'create_status',
    signedIn: true,
    v4: endpoint(params({ state: { type: 'string', required: true, values: STATUS_STATES }, ...statusPost, pipeline_id: { type: 'integer' } }), statuses.post, 'all'),
    // GitLab 8.x: no `skipped` state and no pipeline_id (an unknown parameter, ignored).
    v3: endpoint(params({ state: { type: 'string', required: true, values: STATUS_STATES.filter((s) => s !== 'skipped') }, ...statusPost }), statuses.post, 'all'),
  },
  {
    method: 'GET',
    path: '/projects/:id/repository/commits/:sha/statuses',
    ability: 'read_status',
    signedIn: true,
    v4: endpoint(
      params({
        ...statusFilters,
        pipeline_id: { type: 'integer' },
        order_by: { type: 'string', values: ['id', 'pipeline_id'], default: 'id' },
        sort: { type: 'string', values: ['asc', 'desc'], default: 'asc' },
        ...paged,
      }),
      statuses.list,
    ),
    // GitLab 8.x's statuses list knew only ref, stage, name and all.
    v3: endpoint(params({ ...statusFilters, ...paged }), statuses.list),
  },

  // ---- pipelines (v4): the external pipelines statuses make (Ci::PipelinesFinder)
  {
    method: 'GET',
    path: '/projects/:id/pipelines',
    ability: 'read_pipeline',
    v4: endpoint(
      params({
        scope: { type: 'string', values: ['running', 'pending', 'finished', 'branches', 'tags'] },
        status: { type: 'string', values: ['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'success', 'failed', 'canceled', 'skipped', 'manual', 'scheduled'] },
        ref: { type: 'string' },
        sha: { type: 'string' },
        source: { type: 'string' },
        username: { type: 'string' },
        updated_after: { type: 'datetime' },
        updated_before: { type: 'datetime' },
        order_by: { type: 'string', values: ['id', 'status', 'ref', 'updated_at', 'user_id'], default: 'id' },
        sort: { type: 'string', values: ['asc', 'desc'], default: 'desc' },
        ...paged,
      }),
      pipelines.list,
    ),
  },
  { method: 'GET', path: '/projects/:id/pipelines/latest', ability: 'read_pipeline', v4: endpoint(params({ ref: { type: 'string' } }), pipelines.latest) },
  { method: 'GET', path: '/projects/:id/pipelines/:pipeline_id', ability: 'read_pipeline', v4: endpoint(none, pipelines.show) },
  {
    method: 'GET',
    path: '/projects/:id/pipelines/:pipeline_id/jobs',
    ability: 'read_pipeline',
    v4: endpoint(params({ scope: { type: 'array' }, include_retried: { type: 'boolean', default: false }, ...paged }), pipelines.jobs),
  },

  // ---- project hooks (v4; Maintainer+, as admin_project) and system hooks (admin)
  { method: 'GET', path: '/projects/:id/hooks', ability: 'admin_project', v4: endpoint(params({ ...paged }), hooks.list) },
  { method: 'POST', path: '/projects/:id/hooks', ability: 'admin_project', v4: endpoint(raw, hooks.create(params(hooks.PROJECT_HOOK_PARAMS)), 'all') },
  { method: 'GET', path: '/projects/:id/hooks/:hook_id', ability: 'admin_project', v4: endpoint(none, hooks.show) },
  { method: 'PUT', path: '/projects/:id/hooks/:hook_id', ability: 'admin_project', v4: endpoint(raw, hooks.update(params(hooks.PROJECT_HOOK_PARAMS)), 'all') },
  { method: 'DELETE', path: '/projects/:id/hooks/:hook_id', ability: 'admin_project', v4: endpoint(none, hooks.remove) },
  // GitLab's hook events list takes per_page 1 to 20 only (Grape `values: 1..20`).
  { method: 'GET', path: '/projects/:id/hooks/:hook_id/events', ability: 'admin_project', v4: endpoint(params({ status: { type: 'array' }, ...paged, per_page: { type: 'integer', values: HOOK_EVENTS_PER_PAGE, default: 20 } }), hooks.events) },
  { method: 'POST', path: '/projects/:id/hooks/:hook_id/events/:hook_event_id/resend', ability: 'admin_project', v4: endpoint(none, hooks.resend) },
  {
    method: 'POST',
    path: '/projects/:id/hooks/:hook_id/test/:trigger',
    ability: 'admin_project',
    v4: endpoint(none, hooks.test),
  },
  { method: 'GET', path: '/hooks', ability: 'admin', v4: endpoint(params({ ...paged }), hooks.systemList) },
  { method: 'POST', path: '/hooks', ability: 'admin', v4: endpoint(raw, hooks.systemCreate(params(hooks.SYSTEM_HOOK_PARAMS)), 'all') },
  { method: 'GET', path: '/hooks/:hook_id', ability: 'admin', v4: endpoint(none, hooks.systemShow) },
  { method: 'PUT', path: '/hooks/:hook_id', ability: 'admin', v4: endpoint(raw, hooks.systemUpdate(params(hooks.SYSTEM_HOOK_PARAMS)), 'all') },
  { method: 'DELETE', path: '/hooks/:hook_id', ability: 'admin', v4: endpoint(none, hooks.systemRemove) },

  // ---- commit comments
  { method: 'GET', path: '/projects/:id/repository/commits/:sha/comments', ability: 'read_code', v4: endpoint(params({ ...paged }), comments.list), v3: endpoint(params({ ...paged }), comments.list) },
  {
    method: 'POST',
    path: '/projects/:id/repository/commits/:sha/comments',
    ability: 'create_note',
    // GitLab 8.x accepted only a hex SHA here, before anything else.
    pathRules: { v3: { sha: /^[0-9a-fA-F]{6,40}$/ } },
    v4: endpoint(params(commentPost), comments.post, 'all'),
    v3: endpoint(params(commentPost), comments.postV3, 'all'),
  },

  // ---- commit discussions (GitLab 10.x and later: v4 only); the same notes as the comments
  { method: 'GET', path: '/projects/:id/repository/commits/:sha/discussions', ability: 'read_code', signedIn: true, v4: endpoint(params({ ...paged }), discussions.list) },
  {
    method: 'POST',
    path: '/projects/:id/repository/commits/:sha/discussions',
    ability: 'create_note',
    v4: endpoint(params({ body: { type: 'string', required: true }, created_at: { type: 'string' }, position: { type: 'hash' } }), discussions.start, 'all'),
  },
  { method: 'GET', path: '/projects/:id/repository/commits/:sha/discussions/:discussion_id', ability: 'read_code', signedIn: true, v4: endpoint(none, discussions.show) },
  {
    method: 'POST',
    path: '/projects/:id/repository/commits/:sha/discussions/:discussion_id/notes',
    ability: 'create_note',
    v4: endpoint(params({ body: { type: 'string', required: true }, created_at: { type: 'string' } }), discussions.reply, 'all'),
  },
  { method: 'GET', path: '/projects/:id/repository/commits/:sha/discussions/:discussion_id/notes/:note_id', ability: 'read_code', signedIn: true, v4: endpoint(none, discussions.showNote) },
  {
    method: 'PUT',
    path: '/projects/:id/repository/commits/:sha/discussions/:discussion_id/notes/:note_id',
    ability: 'create_note',
    v4: endpoint(params({ body: { type: 'string' }, resolved: { type: 'boolean' } }), discussions.update, 'all'),
  },
  { method: 'DELETE', path: '/projects/:id/repository/commits/:sha/discussions/:discussion_id/notes/:note_id', ability: 'create_note', v4: endpoint(none, discussions.remove) },

  // ---- ref and file writes (v4): GitLab's Branches, Tags and Files APIs (the project first; Developer+ once the params are valid)
  {
    method: 'POST',
    path: '/projects/:id/repository/branches',
    ability: 'read_code',
    v4: endpoint(params({ branch: { type: 'string', required: true, allowBlank: false }, ref: { type: 'string', required: true, allowBlank: false } }), refs.createBranch, 'all'),
  },
  { method: 'DELETE', path: '/projects/:id/repository/branches/:branch', ability: 'read_code', v4: endpoint(none, refs.deleteBranch) },
  {
    method: 'POST',
    path: '/projects/:id/repository/tags',
    ability: 'read_code',
    v4: endpoint(params({ tag_name: { type: 'string', required: true }, ref: { type: 'string', required: true }, message: { type: 'string' } }), refs.createTag, 'all'),
  },
  { method: 'DELETE', path: '/projects/:id/repository/tags/:tag', ability: 'read_code', v4: endpoint(none, refs.deleteTag) },
  ...(() => {
    // Files::*Service through the create-commit service; GitLab's simple_file_params and extended_file_params.
    const simple = {
      branch: { type: 'string', required: true, allowBlank: false },
      commit_message: { type: 'string', required: true, allowBlank: false },
      start_branch: { type: 'string' },
      author_email: { type: 'string' },
      author_name: { type: 'string' },
    } as const;
    const extended = params({
      ...simple,
      content: { type: 'string', required: true },
      encoding: { type: 'string', values: ['base64', 'text'], default: 'text' },
      last_commit_id: { type: 'string' },
      execute_filemode: { type: 'boolean' },
    });
    const path = '/projects/:id/repository/files/:file_path';
    return [
      { method: 'POST', path, ability: 'read_project', v4: endpoint(extended, repository.createFile, 'all') },
      { method: 'PUT', path, ability: 'read_project', v4: endpoint(extended, repository.updateFile, 'all') },
      { method: 'DELETE', path, ability: 'read_project', v4: endpoint(params(simple), repository.deleteFile, 'all') },
    ] satisfies Route[];
  })(),

  // ---- archives and snapshots (v4 only here); the `.format` suffix is checked by the handler (archive_formats_regex)
  ...(() => {
    const archive = endpoint(params({ sha: { type: 'string' }, format: { type: 'string' }, path: { type: 'string' }, include_lfs_blobs: { type: 'boolean', default: true }, exclude_paths: { type: 'array' } }), archives.archive);
    return [
      { method: 'GET', path: '/projects/:id/repository/archive', ability: 'read_code', v4: archive },
      { method: 'GET', path: '/projects/:id/repository/archive.:format', ability: 'read_code', v4: archive },
    ] satisfies Route[];
  })(),
  // Administrators only, checked before the project lookup (authenticated_with_can_read_all_resources!).
  { method: 'GET', path: '/projects/:id/snapshot', ability: 'user', v4: endpoint(params({ wiki: { type: 'boolean' } }), archives.snapshot) },
  // ---- blame (v4 only here); HEAD answers the file's X-Gitlab-* headers alone; range[start]/range[end] are checked by the handler (Grape's messages)
  {
    method: 'GET',
    path: '/projects/:id/repository/files/:file_path/blame',
    ability: 'read_code',
    v4: endpoint(params({ ref: { type: 'string', required: true, allowBlank: false }, range: { type: 'hash' } }), blame.blame),
  },

  // ---- project creation and deletion, namespaces and groups (v4)
  {
    method: 'POST',
    path: '/projects',
    ability: 'user',
    v4: endpoint(
      params({
        name: { type: 'string' },
        path: { type: 'string' },
        // An id, or (as fakelab also takes it) a namespace's full path.
        namespace_id: { type: 'string' },
        description: { type: 'string' },
        visibility: { type: 'string', values: ['private', 'internal', 'public'] },
        default_branch: { type: 'string' },
        initialize_with_readme: { type: 'boolean', default: false },
      }),
      projects.create,
      'all',
    ),
  },
  // Owners and admins (remove_project); GitLab's authenticate_non_get! runs before the lookup.
  // Alone: a status post or a read racing the deletion must not recreate its data or read a closed repository.
  { method: 'DELETE', path: '/projects/:id', ability: 'read_project', signedIn: true, alone: true, v4: endpoint(none, projects.remove) },
  { method: 'GET', path: '/namespaces', ability: 'user', v4: endpoint(params({ search: { type: 'string' }, owned_only: { type: 'boolean', default: false }, ...paged }), namespaces.list) },
  { method: 'GET', path: '/namespaces/:id', ability: 'user', v4: endpoint(none, namespaces.show) },
  { method: 'GET', path: '/groups/:id', ability: 'none', v4: endpoint(none, namespaces.group) },

  // ---- fakelab's control plane, under /- (GitLab has none; see handlers/control.ts). Health needs no token; the rest an admin.
  { surface: 'control', method: 'GET', path: '/health', ability: 'none', control: endpoint(none, control.health) },
  { surface: 'control', method: 'GET', path: '/readiness', ability: 'none', control: endpoint(none, control.readiness) },
  { surface: 'control', method: 'GET', path: '/liveness', ability: 'none', control: endpoint(none, control.liveness) },
  {
    surface: 'control',
    method: 'GET',
    path: '/fakelab/requests',
    ability: 'admin',
    control: endpoint(params({ method: { type: 'string' }, path: { type: 'string' }, status: { type: 'integer' }, since: { type: 'integer', min: 0 } }), control.requests),
  },
  { surface: 'control', method: 'DELETE', path: '/fakelab/requests', ability: 'admin', control: endpoint(none, control.clearRequests) },
  { surface: 'control', method: 'GET', path: '/fakelab/events', ability: 'admin', control: endpoint(params({ since: { type: 'integer', min: 0 } }), control.events) },
  { surface: 'control', method: 'GET', path: '/fakelab/hooks/deliveries', ability: 'admin', control: endpoint(params({ since: { type: 'integer', min: 0 }, hook_id: { type: 'integer' } }), control.hookDeliveries) },
  { surface: 'control', method: 'GET', path: '/fakelab/hooks/queue', ability: 'admin', control: endpoint(none, control.hookQueue) },
  { surface: 'control', method: 'POST', path: '/fakelab/faults', ability: 'admin', control: endpoint(control.faultSpec, control.addFault, 'body') },
  { surface: 'control', method: 'GET', path: '/fakelab/faults', ability: 'admin', control: endpoint(none, control.faults) },
  { surface: 'control', method: 'DELETE', path: '/fakelab/faults', ability: 'admin', control: endpoint(none, control.clearFaults) },
  { surface: 'control', method: 'GET', path: '/fakelab/faults/:fault_id', ability: 'admin', control: endpoint(none, control.fault) },
  { surface: 'control', method: 'DELETE', path: '/fakelab/faults/:fault_id', ability: 'admin', control: endpoint(none, control.removeFault) },
  { surface: 'control', method: 'POST', path: '/fakelab/reset', ability: 'admin', control: endpoint(none, control.reset) },
  { surface: 'control', method: 'POST', path: '/fakelab/projects', ability: 'admin', control: endpoint(control.fixtureDocument, control.seed, 'body') },
];


/**
 * The pages (HTML, see http/pages.ts), at GitLab's web URLs: `site` paths from the root, `project`
 * paths under a project's full path (`/` is the project's own page). Project pages need read_code
 * on the project, as the API's reads do; a project the caller cannot see is a 404.
 */
export const PAGES: PageRoute[] = [
  { method: 'GET', scope: 'site', path: '/', run: pages.home },
  { method: 'GET', scope: 'site', path: '/-/login', run: pages.loginForm },
  { method: 'POST', scope: 'site', path: '/-/login', csrf: 'origin', run: pages.login },
  { method: 'POST', scope: 'site', path: '/-/logout', csrf: 'session', run: pages.logout },
  { method: 'GET', scope: 'site', path: '/-/fakelab', admin: true, run: pages.control },
  // The control page's form; a script's POST with a token goes on to the control plane's route.
  { method: 'POST', scope: 'site', path: '/-/fakelab/reset', admin: true, csrf: 'session', outsideGate: true, run: pages.reset },
  { method: 'GET', scope: 'project', path: '/', run: pages.project },
  { method: 'GET', scope: 'project', path: '/-/commits/*ref', run: pages.commits },
  { method: 'GET', scope: 'project', path: '/-/commit/:sha', run: pages.commit },
  { method: 'GET', scope: 'project', path: '/-/compare/*range', run: pages.compare },
  { method: 'GET', scope: 'project', path: '/-/branches', run: pages.branches },
  { method: 'GET', scope: 'project', path: '/-/tags', run: pages.tags },
  { method: 'GET', scope: 'project', path: '/-/pipelines/:id', run: pages.pipeline },
];
