import type { PipelineSummary } from '../ci/statuses.js';
import type { NoteRow, StatusRow } from '../store/sidecar.js';
import type { UserDirectory } from '../users.js';
import { RubyFloat, rubyFloat } from './float.js';
import { type Dialect, type Urls, userBasic } from './entities.js';
import type { DetailedStatusEntity, DiscussionEntity, DiscussionNoteEntity, NoteEntity, PipelineBasicEntity, PipelineEntity, StatusEntity } from './wire.js';
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

/** What each pipeline status shows (Gitlab::Ci::Status::*: text, label, icon; the group is the status). */
const STATUS_FACE: Record<StatusRow['status'], { text: string; label: string }> = {
  created: { text: 'Created', label: 'created' },
  pending: { text: 'Pending', label: 'pending' },
  running: { text: 'Running', label: 'running' },
  success: { text: 'Passed', label: 'passed' },
  failed: { text: 'Failed', label: 'failed' },
  canceled: { text: 'Canceled', label: 'canceled' },
  skipped: { text: 'Skipped', label: 'skipped' },
};

/** The label a pipeline's detailed status has (what the Pipeline Hook's `detailed_status` says). */
export function statusLabel(status: StatusRow['status']): string {
  return STATUS_FACE[status].label;
}

/** A pipeline's detailed status (Gitlab::Ci::Status::Pipeline::Factory over the core status). */
export function detailedStatus(status: StatusRow['status'], projectPath: string, pipelineId: number): DetailedStatusEntity {
  const face = STATUS_FACE[status];
  return {
    icon: `status_${status}`,
    text: face.text,
    label: face.label,
    group: status,
    tooltip: face.label,
    has_details: true,
    details_path: `/${projectPath}/-/pipelines/${pipelineId}`,
    illustration: null,
    favicon: `/assets/ci_favicons/favicon_status_${status}.png`,
  };
}

/**
 * Ci::Pipeline#duration for a pipeline of external statuses: set when it finishes (update_duration,
 * only once started), from the running periods of its builds (Gitlab::Ci::Pipeline::Duration.
 * from_pipeline: `pipeline.builds`). External statuses are GenericCommitStatus, no builds, so a
 * finished pipeline that ever ran lasts 0 s; one that never ran (no started_at) has none.
 */
export function pipelineDuration(summary: PipelineSummary): number | null {
  return summary.finishedAt !== null && summary.startedAt !== null ? 0 : null;
}

/**
 * Ci::Pipeline#queued_duration: whole seconds (Ruby's to_i) from creation to start, nil when it
 * never started or started within its first second (`seconds unless seconds.zero?`).
 */
export function queuedDuration(summary: PipelineSummary): number | null {
  if (summary.startedAt === null) return null;
  const seconds = Math.trunc((Date.parse(summary.startedAt) - Date.parse(summary.pipeline.createdAt)) / 1000);
  return seconds === 0 ? null : seconds;
}

/** GitLab's Ci::Pipeline entity (single pipeline): PipelineBasic and its details. */
export function pipelineEntity(summary: PipelineSummary, projectId: number, projectPath: string, users: UserDirectory, urls: Urls): PipelineEntity {
  const p = summary.pipeline;
  return {
    ...pipelineView(summary, projectId, projectPath, urls),
    before_sha: BLANK_SHA,
    tag: false,
    yaml_errors: null,
    user: userBasic(users.find(p.userId), urls),
    started_at: summary.startedAt,
    finished_at: summary.finishedAt,
    committed_at: null,
    duration: pipelineDuration(summary),
    queued_duration: queuedDuration(summary),
    coverage: summary.coverage === null ? null : new RubyFloat(summary.coverage).toRubyString(),
    detailed_status: detailedStatus(summary.status, projectPath, p.id),
  };
}

/** Ci::Pipeline#before_sha for a pipeline that records none (an external one): the blank SHA. */
export const BLANK_SHA = '0000000000000000000000000000000000000000';
