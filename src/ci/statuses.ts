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
  /** When the pipeline last went to running (GitLab's before_transition => :running), or null. */
  startedAt: string | null;
  /** When it last finished (success, failed or canceled), or null. */
  finishedAt: string | null;
  /** Ci::Pipeline#coverage: the mean of its latest statuses' coverages, or null. */
  coverage: number | null;
}

/** A pipeline whose status changed, for the Pipeline Hook (GitLab fires one per non-loopback transition). */
export interface PipelineChange {
  project: Project;
  summary: PipelineSummary;
  from: StatusRow['status'];
}

export type PipelineObserver = (change: PipelineChange) => void;

/** API statuses all live in this stage of their pipeline. */
export const EXTERNAL_STAGE = 'external';
const MAX_FIELD = 255;

/**
 * Commit statuses as GitLab's Ci::CreateCommitStatusService records them: each posted status
 * belongs to a synthetic external pipeline per (sha, ref); a pending or running status of the
 * same name, ref, pipeline and user is moved on, anything else starts a new row.
 */
export class CommitStatuses {
  private readonly observers = new Set<PipelineObserver>();

  constructor(private readonly store: SidecarStore) {}

  /** Calls `observer` after each durable change of a pipeline's status; returns the function that stops it. */
  observe(observer: PipelineObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** `authorizeRef` may refuse the resolved ref (a protected one needs push rights). */
  async post(project: Project, sha: string, user: User, input: PostStatus, authorizeRef: (ref: string) => void = () => undefined, now = new Date().toISOString()): Promise<StatusRow> {
    let change: PipelineChange | null = null;
    const posted = await this.store.update(project.id, sha, async (record, ids) => {
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
      // The pipeline's status before this post (a new one starts `created`; a row of an older
      // fakelab, which kept none, has its statuses' composite).
      const existing = pipeline;
      const from = existing ? (existing.status ?? compositeStatus(record.statuses.filter((s) => s.pipelineId === existing.id && !s.retried).map((s) => s.status))) : 'created';
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
      // The pipeline's own transition (Ci::Pipeline's state machine, updated from its latest statuses).
      const current = pipeline;
      const to = compositeStatus(record.statuses.filter((s) => s.pipelineId === current.id && !s.retried).map((s) => s.status));
      if (to !== from) {
        const moved: PipelineRow = { ...current, status: to };
        if (to === 'running' && (from === 'created' || from === 'pending')) moved.startedAt = now;
        if (to === 'success' || to === 'failed' || to === 'canceled') moved.finishedAt = now;
        record.pipelines[record.pipelines.indexOf(current)] = moved;
        change = { project, summary: summarize(moved, record.statuses), from };
      } else if (current.status === undefined) {
        record.pipelines[record.pipelines.indexOf(current)] = { ...current, status: to };
      }
      return row;
    });
    if (change) {
      for (const observer of [...this.observers]) {
        try {
          observer(change);
        } catch {
          // An observer's failure is its own (the hook dispatcher logs its errors); the status is recorded.
        }
      }
    }
    return posted;
  }

  /** Every pipeline of a project with its status, newest (highest id) first. */
  async pipelines(projectId: number): Promise<PipelineSummary[]> {
    const out: PipelineSummary[] = [];
    for (const sha of await this.store.shas(projectId)) {
      const record = await this.store.read(projectId, sha);
      for (const pipeline of record.pipelines) out.push(summarize(pipeline, record.statuses));
    }
    return out.sort((a, b) => b.pipeline.id - a.pipeline.id);
  }

  /** One pipeline of a project, or null. */
  async pipeline(projectId: number, id: number): Promise<PipelineSummary | null> {
    return (await this.pipelines(projectId)).find((p) => p.pipeline.id === id) ?? null;
  }

  /** Project#latest_pipeline: the newest pipeline of `ref` at commit `sha`, or null. */
  async latestFor(projectId: number, sha: string, ref: string): Promise<PipelineSummary | null> {
    const record = await this.store.read(projectId, sha);
    const pipeline = newest(record.pipelines.filter((p) => p.ref === ref));
    return pipeline ? summarize(pipeline, record.statuses) : null;
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
    return summarize(pipeline, record.statuses);
  }

  /** Every pipeline of a commit, newest first, each with its composite status (for the pages). */
  async commitPipelines(projectId: number, sha: string): Promise<PipelineSummary[]> {
    const record = await this.store.read(projectId, sha);
    return record.pipelines.map((pipeline) => summarize(pipeline, record.statuses)).sort((a, b) => b.pipeline.id - a.pipeline.id);
  }
}

/** A pipeline with what its latest statuses say of it. */
export function summarize(pipeline: PipelineRow, statuses: readonly StatusRow[]): PipelineSummary {
  const latest = statuses.filter((s) => s.pipelineId === pipeline.id && !s.retried);
  const updatedAt = latest.reduce((max, s) => (s.updatedAt > max ? s.updatedAt : max), pipeline.createdAt);
  const status = compositeStatus(latest.map((s) => s.status));
  const coverages = latest.map((s) => s.coverage).filter((c): c is number => c !== null);
  // Rows from before the pipeline kept its own times: derived from the statuses.
  const startedAt = pipeline.startedAt !== undefined ? pipeline.startedAt : (latest.map((s) => s.startedAt).filter((t): t is string => t !== null).sort()[0] ?? null);
  const finishedAt =
    pipeline.finishedAt !== undefined
      ? pipeline.finishedAt
      : status === 'success' || status === 'failed' || status === 'canceled'
        ? (latest.map((s) => s.finishedAt).filter((t): t is string => t !== null).sort().at(-1) ?? null)
        : null;
  return { pipeline, status, updatedAt, startedAt, finishedAt, coverage: coverages.length > 0 ? coverages.reduce((a, b) => a + b, 0) / coverages.length : null };
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
