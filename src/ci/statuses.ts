import { apiError, notFound } from '../errors.js';
import { isBlank } from '../util/presence.js';
import type { Project } from '../projects/registry.js';
import type { PipelineRow, SidecarStore, StatusRow } from '../store/sidecar.js';
import type { User } from '../users.js';
import { applyPostedState, compositeStatus, type PostedState, TransitionError } from './status-machine.js';

export interface PostStatus {
  state: PostedState;
  ref?: string;
  name?: string;
  targetUrl?: string;
  description?: string;
  coverage?: number;
  pipelineId?: number;
}

export interface StatusFilter {
  ref?: string;
  stage?: string;
  name?: string;
  all: boolean;
  pipelineId?: number;
  orderBy: 'id' | 'pipeline_id';
  sort: 'asc' | 'desc';
}

export interface PipelineSummary {
  pipeline: PipelineRow;
  status: StatusRow['status'];
  updatedAt: string;
}

/** API statuses all live in this stage of their pipeline. */
export const EXTERNAL_STAGE = 'external';
const MAX_FIELD = 255;

/**
 * Commit statuses as GitLab's Ci::CreateCommitStatusService records them: each posted status
 * belongs to a synthetic external pipeline per (sha, ref); a pending or running status of the
 * same name, ref, pipeline and user is moved on, anything else starts a new row.
 */
export class CommitStatuses {
  constructor(private readonly store: SidecarStore) {}

  /** `authorizeRef` may refuse the resolved ref (a protected one needs push rights). */
  async post(project: Project, sha: string, user: User, input: PostStatus, authorizeRef: (ref: string) => void = () => undefined, now = new Date().toISOString()): Promise<StatusRow> {
    return this.store.update(project.id, sha, async (record, ids) => {
      // Inside the per-SHA critical section, so the pipeline a ref-less post picks cannot change under it.
      // The ref: given; else the newest pipeline's; else the first branch holding the commit.
      let resolvedRef = input.ref;
      if (resolvedRef === undefined) {
        const candidates = record.pipelines.filter((p) => input.pipelineId === undefined || p.id === input.pipelineId);
        resolvedRef = newest(candidates)?.ref;
      }
      if (resolvedRef === undefined) {
        const { branches } = await project.repo.refsContaining(sha);
        resolvedRef = branches[0];
        if (resolvedRef === undefined) throw notFound('References for commit');
      }
      authorizeRef(resolvedRef);
      validateLengths(input);
      const matching = record.pipelines.filter(
        (p) => (input.ref === undefined || p.ref === resolvedRef) && (input.pipelineId === undefined || p.id === input.pipelineId),
      );
      let pipeline = newest(matching);
      if (!pipeline && input.pipelineId !== undefined) throw notFound('Pipeline for pipeline_id, sha and ref');
      const name = input.name ?? 'default';
      const reusable = pipeline
        ? record.statuses
            .filter((s) => s.pipelineId === pipeline!.id && s.name === name && s.ref === resolvedRef && s.userId === user.id && (s.status === 'pending' || s.status === 'running'))
            .sort((a, b) => b.id - a.id)[0]
        : undefined;
      // Work on a copy: a refused transition must change nothing.
      const row: StatusRow = reusable
        ? { ...reusable }
        : {
            id: 0,
            pipelineId: pipeline?.id ?? 0,
            sha,
            ref: resolvedRef,
            name,
            status: 'created',
            targetUrl: null,
            description: null,
            coverage: null,
            userId: user.id,
            createdAt: now,
            updatedAt: now,
            startedAt: null,
            finishedAt: null,
            retried: false,
          };
      if (input.targetUrl !== undefined) row.targetUrl = input.targetUrl;
      if (input.description !== undefined) row.description = input.description;
      if (input.coverage !== undefined) row.coverage = input.coverage;
      try {
        applyPostedState(row, input.state, now);
      } catch (err) {
        if (err instanceof TransitionError) throw apiError(err.message);
        throw err;
      }
      if (!pipeline) {
        pipeline = { id: await ids.next('pipeline'), iid: await ids.next(`pipeline-iid-${project.id}`), sha, ref: resolvedRef, userId: user.id, createdAt: now };
        record.pipelines.push(pipeline);
        row.pipelineId = pipeline.id;
      }
      if (reusable) {
        record.statuses[record.statuses.indexOf(reusable)] = row;
      } else {
        row.id = await ids.next('status');
        record.statuses.push(row);
      }
      // Older statuses of the same name in this pipeline are superseded.
      // Rows are immutable: a superseded one is replaced by a retried copy.
      record.statuses.forEach((s, i) => {
        if (s !== row && s.pipelineId === row.pipelineId && s.name === row.name && !s.retried && s.id < row.id) record.statuses[i] = { ...s, retried: true };
      });
      return row;
    });
  }

  async list(projectId: number, sha: string, filter: StatusFilter): Promise<StatusRow[]> {
    const record = await this.store.read(projectId, sha);
    const rows = record.statuses.filter(
      (s) =>
        (filter.all || !s.retried) &&
        (filter.ref === undefined || s.ref === filter.ref) &&
        (filter.name === undefined || s.name === filter.name) &&
        (filter.stage === undefined || filter.stage === EXTERNAL_STAGE) &&
        (filter.pipelineId === undefined || s.pipelineId === filter.pipelineId),
    );
    const key = (s: StatusRow) => (filter.orderBy === 'pipeline_id' ? [s.pipelineId, s.id] : [s.id, 0]);
    rows.sort((a, b) => {
      const [a1, a2] = key(a);
      const [b1, b2] = key(b);
      const c = a1 - b1 || a2 - b2;
      return filter.sort === 'asc' ? c : -c;
    });
    return rows;
  }

  /** The newest pipeline of a commit with its composite status, or null when none exists. */
  async latestPipeline(projectId: number, sha: string): Promise<PipelineSummary | null> {
    const record = await this.store.read(projectId, sha);
    const pipeline = newest(record.pipelines);
    if (!pipeline) return null;
    const latest = record.statuses.filter((s) => s.pipelineId === pipeline.id && !s.retried);
    const updatedAt = latest.reduce((max, s) => (s.updatedAt > max ? s.updatedAt : max), pipeline.createdAt);
    return { pipeline, status: compositeStatus(latest.map((s) => s.status)), updatedAt };
  }
  /** Every pipeline of a commit, newest first, each with its composite status (for the pages). */
  async pipelines(projectId: number, sha: string): Promise<PipelineSummary[]> {
    const record = await this.store.read(projectId, sha);
    return record.pipelines
      .slice()
      .sort((a, b) => b.id - a.id)
      .map((pipeline) => {
        const latest = record.statuses.filter((s) => s.pipelineId === pipeline.id && !s.retried);
        const updatedAt = latest.reduce((max, s) => (s.updatedAt > max ? s.updatedAt : max), pipeline.createdAt);
        return { pipeline, status: compositeStatus(latest.map((s) => s.status)), updatedAt };
      });
  }

  /**
   * The pipeline with this id among the project's commits, or null. Pipelines are kept per
   * commit, so this reads every commit record of the project the store has: fine for a page.
   */
  async findPipeline(projectId: number, id: number): Promise<PipelineSummary | null> {
    for (const sha of (await this.store.shas?.(projectId)) ?? []) {
      const found = (await this.pipelines(projectId, sha)).find((p) => p.pipeline.id === id);
      if (found) return found;
    }
    return null;
  }
}

function newest(pipelines: PipelineRow[]): PipelineRow | undefined {
  return pipelines.reduce<PipelineRow | undefined>((best, p) => (!best || p.id > best.id ? p : best), undefined);
}

/** Model validations GitLab answers with a hash of attribute → messages. */
function validateLengths(input: PostStatus): void {
  const errors: Record<string, string[]> = {};
  if (input.targetUrl !== undefined) {
    if (!isHttpUrl(input.targetUrl)) errors.target_url = ['is blocked: Only allowed schemes are http, https'];
    else if (characters(input.targetUrl) > MAX_FIELD) errors.target_url = [`is too long (maximum is ${MAX_FIELD} characters)`];
  }
  // CommitStatus validates the name's presence: "" or blanks (not null, which means "default").
  if (input.name !== undefined && isBlank(input.name)) errors.name = ["can't be blank"];
  for (const [key, value] of [['ref', input.ref], ['name', input.name], ['description', input.description]] as const) {
    if (value !== undefined && characters(value) > MAX_FIELD) errors[key] = [`is too long (maximum is ${MAX_FIELD} characters)`];
  }
  if (Object.keys(errors).length > 0) throw apiError(errors);
}

/** Rails' length validation counts characters (code points), not UTF-16 units. */
function characters(text: string): number {
  return text.length - (text.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}
