import type { PipelineSummary } from '../ci/statuses.js';
import type { NoteRow, StatusRow } from '../store/sidecar.js';
import type { UserDirectory } from '../users.js';
import { rubyFloat } from './float.js';
import { type Dialect, type Urls, userBasic } from './entities.js';
import type { DiscussionEntity, DiscussionNoteEntity, NoteEntity, PipelineBasicEntity, StatusEntity } from './wire.js';
import { type DiscussionView, typeOf } from '../notes/comments.js';

/** GitLab's CommitStatus entity (v3 has no pipeline_id). */
export function statusEntity(row: StatusRow, users: UserDirectory, urls: Urls, dialect: Dialect): StatusEntity {
  const out: StatusEntity = {
    id: row.id,
    sha: row.sha,
    ref: row.ref,
    status: row.status,
    name: row.name,
    target_url: row.targetUrl,
    description: row.description,
    created_at: row.createdAt,
    started_at: row.startedAt,
    finished_at: row.finishedAt,
    allow_failure: false,
    coverage: rubyFloat(row.coverage),
    author: userBasic(users.find(row.userId), urls),
  };
  if (dialect === 'v4') out.pipeline_id = row.pipelineId;
  return out;
}

/** GitLab's PipelineBasic, as `last_pipeline` of a commit. */
export function pipelineView(summary: PipelineSummary, projectId: number, projectPath: string, urls: Urls): PipelineBasicEntity {
  const p = summary.pipeline;
  return {
    id: p.id,
    iid: p.iid,
    project_id: projectId,
    sha: p.sha,
    ref: p.ref,
    status: summary.status,
    source: 'external',
    created_at: p.createdAt,
    updated_at: summary.updatedAt,
    web_url: `${urls.project(projectPath)}/-/pipelines/${p.id}`,
  };
}

/** GitLab's CommitNote entity. */
export function noteEntity(row: NoteRow, users: UserDirectory, urls: Urls): NoteEntity {
  return {
    note: row.note,
    path: row.path,
    line: row.line,
    line_type: row.lineType,
    author: userBasic(users.find(row.userId), urls),
    created_at: row.createdAt,
  };
}

/** GitLab's Note entity for a note on a commit. */
export function discussionNoteEntity(row: NoteRow, projectId: number, users: UserDirectory, urls: Urls): DiscussionNoteEntity {
  const type = typeOf(row);
  const out: DiscussionNoteEntity = {
    id: row.id,
    type,
    body: row.note,
    author: userBasic(users.find(row.userId), urls),
    created_at: row.createdAt,
    updated_at: row.updatedAt ?? row.createdAt,
    system: false,
    noteable_id: null,
    noteable_type: 'Commit',
    project_id: projectId,
    resolvable: false,
    confidential: false,
    internal: false,
    imported: false,
    imported_from: 'none',
    noteable_iid: null,
    commands_changes: {},
  };
  if (type === 'DiffNote' && row.position) return { ...out, position: row.position, resolvable: false };
  return out;
}

export function discussionEntity(view: DiscussionView, projectId: number, users: UserDirectory, urls: Urls): DiscussionEntity {
  return { id: view.id, individual_note: view.individualNote, notes: view.notes.map((n) => discussionNoteEntity(n, projectId, users, urls)) };
}
