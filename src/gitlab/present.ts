import type { PipelineSummary } from '../ci/statuses.js';
import type { Commit, CommitStats, FileDiff, TagInfo } from '../git/index.js';
import type { NoteRow, StatusRow } from '../store/sidecar.js';
import type { User, UserDirectory } from '../users.js';
import { discussionEntity, discussionNoteEntity, noteEntity, pipelineView, statusEntity } from './ci-entities.js';
import type { DiscussionView } from '../notes/comments.js';
import { diffEntity } from './diff-entity.js';
import { basicProject, commitDetailV3, commitDetailV4, commitV3, commitV4, currentUser, type Dialect, type ProjectShape, projectV3, projectV4, type ProjectView, Urls } from './entities.js';
import { type BranchFacts, branchV3, branchV4, tagV3, tagV4 } from './refs.js';
import { versionEntity } from './version.js';

import type * as Wire from './wire.js';

interface ProjectRef {
  id: number;
  path: string;
}

/**
 * How one dialect writes each entity. Handlers present through this and never ask which dialect
 * they serve; the route table decides which handler a dialect has at all.
 */
export interface Presenter {
  readonly urls: Urls;
  commit(commit: Commit, project: ProjectRef, options?: { trailers?: boolean; stats?: CommitStats | null }): Wire.CommitEntity | Wire.CommitV3Entity;
  commitDetail(commit: Commit, project: ProjectRef, stats: CommitStats | null, pipeline: PipelineSummary | null): Wire.CommitDetailEntity | Wire.CommitDetailV3Entity;
  diff(file: FileDiff, unidiff: boolean): Wire.DiffEntity | Wire.DiffV3Entity;
  /** A comparison's commits (oldest first) and diffs; v4 links its page, v3 had none. */
  compare(comparison: Comparison, project: ProjectRef, unidiff: boolean): Wire.CompareEntity<Wire.CommitEntity | Wire.CommitV3Entity, Wire.DiffEntity | Wire.DiffV3Entity>;
  /**
   * A project as GitLab's entities show it: `with_access` (ProjectWithAccess, for a signed-in
   * caller: with permissions), `project` (Entities::Project: an anonymous caller's single
   * project), `basic` (BasicProjectDetails: lists with simple=true, and an anonymous caller's
   * lists). v3 has one shape.
   */
  project(view: ProjectView, shape?: ProjectShape): Wire.ProjectEntity | Wire.BasicProjectEntity | Wire.ProjectV3Entity;
  branch(branch: BranchFacts, project: ProjectRef): Wire.BranchEntity | Wire.BranchV3Entity;
  tag(tag: TagInfo, project: ProjectRef): Wire.TagEntity | Wire.TagV3Entity;
  status(row: StatusRow, users: UserDirectory): Wire.StatusEntity;
  note(row: NoteRow, users: UserDirectory): Wire.NoteEntity;
  discussion(view: DiscussionView, projectId: number, users: UserDirectory): Wire.DiscussionEntity;
  discussionNote(row: NoteRow, projectId: number, users: UserDirectory): Wire.DiscussionNoteEntity;
  currentUser(user: User): Wire.CurrentUserEntity;
  version(): Wire.VersionEntity;
}

/** What a compare answers about: the revisions as asked, and what the git facade found. */
export interface Comparison {
  from: string;
  to: string;
  commits: Commit[];
  files: FileDiff[];
  /** The diff was cut at GitLab's limits. */
  overflow: boolean;
  sameCommit: boolean;
}

/** Compare's body: `commit` is the newest of `commits`. */
function compareEntity<C, D>(c: Comparison, commit: (c: Commit) => C, diff: (f: FileDiff) => D): Wire.CompareEntity<C, D> {
  return {
    commit: c.commits.length > 0 ? commit(c.commits[c.commits.length - 1]) : null,
    commits: c.commits.map(commit),
    diffs: c.files.map(diff),
    compare_timeout: c.overflow,
    compare_same_ref: c.sameCommit,
  };
}

function v4(urls: Urls): Presenter {
  return {
    urls,
    commit: (c, project, options = {}) => commitV4(c, project.path, urls, { trailers: options.trailers, stats: options.stats ?? null }),
    commitDetail: (c, project, stats, pipeline) => commitDetailV4(c, project, urls, stats, pipeline ? pipelineView(pipeline, project.id, project.path, urls) : null),
    diff: (file, unidiff) => diffEntity(file, 'v4', unidiff),
    compare: (c, project, unidiff) => ({
      ...compareEntity(c, (commit) => commitV4(commit, project.path, urls), (file) => diffEntity(file, 'v4', unidiff)),
      web_url: `${urls.project(project.path)}/-/compare/${c.from}...${c.to}`,
    }),
    project: (view, shape = 'with_access') => {
      const { permissions, ...project } = projectV4(view, urls);
      if (shape === 'with_access') return { ...project, permissions };
      return shape === 'project' ? project : basicProject(project);
    },
    branch: (branch, project) => branchV4(branch, project.path, urls),
    tag: (tag, project) => tagV4(tag, project.path, urls),
    status: (row, users) => statusEntity(row, users, urls, 'v4'),
    note: (row, users) => noteEntity(row, users, urls),
    discussion: (view, projectId, users) => discussionEntity(view, projectId, users, urls),
    discussionNote: (row, projectId, users) => discussionNoteEntity(row, projectId, users, urls),
    currentUser: (user) => currentUser(user, urls, 'v4'),
    version: () => versionEntity('v4'),
  };
}

function v3(urls: Urls): Presenter {
  return {
    urls,
    commit: (c) => commitV3(c),
    commitDetail: (c, _project, stats, pipeline) => commitDetailV3(c, stats, pipeline?.status ?? null),
    // GitLab 8.x always sent the ---/+++ lines.
    diff: (file) => diffEntity(file, 'v3'),
    compare: (c) => compareEntity(c, commitV3, (file) => diffEntity(file, 'v3')),
    project: (view) => projectV3(view, urls),
    branch: (branch) => branchV3(branch),
    tag: (tag) => tagV3(tag),
    status: (row, users) => statusEntity(row, users, urls, 'v3'),
    note: (row, users) => noteEntity(row, users, urls),
    discussion: (view, projectId, users) => discussionEntity(view, projectId, users, urls),
    discussionNote: (row, projectId, users) => discussionNoteEntity(row, projectId, users, urls),
    currentUser: (user) => currentUser(user, urls, 'v3'),
    version: () => versionEntity('v3'),
  };
}

/** The presenter of a dialect, for the URLs the client used. */
export const presenterFor = (dialect: Dialect, urls: Urls): Presenter => (dialect === 'v4' ? v4(urls) : v3(urls));
