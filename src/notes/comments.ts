import { createHash, randomBytes } from 'node:crypto';
import { apiError, notFound } from '../errors.js';
import type { Commit } from '../git/index.js';
import type { Project } from '../projects/registry.js';
import type { DiffPosition, NoteRow, NoteType, SidecarStore } from '../store/sidecar.js';
import type { User } from '../users.js';

export type LineNumbering = 'by-type' | 'new-position';

/** A thread of notes on one commit, as GitLab's Discussion entity groups them. */
export interface DiscussionView {
  id: string;
  individualNote: boolean;
  notes: NoteRow[];
}

export interface StartDiscussion {
  body: string;
  position?: DiffPosition;
  createdAt?: string;
}

/** GitLab's "null" commit, the base of a root commit's diff refs. */
const BLANK_SHA = '0'.repeat(40);

export interface PostComment {
  note: string;
  path?: string;
  line?: number;
  lineType?: 'new' | 'old';
}

/**
 * Commit comments. A comment lands on a diff line only when the commit's diff (against its first
 * parent) has a line of that type at that number in the file whose new path is `path`: added lines
 * are numbered in the new file, removed lines in the old file, and context lines never match.
 * Otherwise it is a plain note and its path, line and line_type are null — as GitLab does.
 */
/** A note written (created or edited) on a commit, for the Note Hook. */
export interface NoteChange {
  project: Project;
  sha: string;
  note: NoteRow;
  action: 'create' | 'update';
}

export type NoteObserver = (change: NoteChange) => void;

export class CommitComments {
  private readonly observers = new Set<NoteObserver>();

  constructor(private readonly store: SidecarStore) {}

  /** Calls `observer` after each note is durably created or edited; returns the function that stops it. */
  observe(observer: NoteObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private told<T>(result: T, project: Project, sha: string, note: NoteRow | null, action: NoteChange['action']): T {
    if (note) {
      for (const observer of [...this.observers]) {
        try {
          observer({ project, sha, note, action });
        } catch {
          // The observer's own failure (the hook dispatcher logs its errors); the note is written.
        }
      }
    }
    return result;
  }

  /** The commits of a project that have a record (some with notes). */
  commitsWithNotes(projectId: number): Promise<string[]> {
    return this.store.shas(projectId);
  }

  async list(projectId: number, sha: string): Promise<NoteRow[]> {
    const { notes } = await this.store.read(projectId, sha);
    return notes.slice().sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id - b.id));
  }

  /**
   * `numbering`: 'by-type' (modern: added lines by new number, removed lines by old number) or
   * 'new-position' (GitLab 8.x: every line by its position in the new file).
   */
  async post(
    project: Project,
    commit: Commit,
    user: User,
    input: PostComment,
    failurePrefix: string,
    numbering: LineNumbering = 'by-type',
    now = new Date().toISOString(),
  ): Promise<NoteRow> {
    if (input.note.trim() === '') throw apiError(`${failurePrefix} {:note=>["can't be blank"]}`);
    let position: Pick<NoteRow, 'path' | 'line' | 'lineType'> = { path: null, line: null, lineType: null };
    if (input.path !== undefined && input.line !== undefined) {
      const lineType = input.lineType ?? 'new';
      if (await this.diffHasLine(project, commit, input.path, input.line, lineType, numbering)) position = { path: input.path, line: input.line, lineType };
    }
    const written = await this.store.update(project.id, commit.oid, async (record, ids) => {
      const id = await ids.next('note');
      // A line comment is a LegacyDiffNote: those on one line share a discussion (GitLab keys it by line code).
      const row: NoteRow = { id, note: input.note, ...position, userId: user.id, createdAt: now, type: position.path === null ? null : 'LegacyDiffNote', discussionId: position.path === null ? newDiscussionId() : legacyDiscussionId(commit.oid, position), updatedAt: now };
      record.notes.push(row);
      return row;
    });
    return this.told(written, project, commit.oid, written, 'create');
  }

  /** Every note of the commit grouped into discussions, in the order of their first notes. */
  async discussions(projectId: number, sha: string): Promise<DiscussionView[]> {
    const byId = new Map<string, NoteRow[]>();
    for (const note of await this.list(projectId, sha)) {
      const id = discussionIdOf(sha, note);
      const thread = byId.get(id);
      if (thread) thread.push(note);
      else byId.set(id, [note]);
    }
    return [...byId].map(([id, notes]) => ({ id, individualNote: notes.length === 1 && typeOf(notes[0]) === null, notes }));
  }

  async discussion(projectId: number, sha: string, discussionId: string): Promise<DiscussionView> {
    const found = (await this.discussions(projectId, sha)).find((d) => d.id === discussionId);
    if (!found) throw notFound('Discussion');
    return found;
  }

  /**
   * POST discussions: a DiscussionNote, or a DiffNote when a position is given. A DiffNote must
   * name the commit's own diff refs (DiffNote#diff_refs_match_commit) and a line of its diff.
   */
  async startDiscussion(project: Project, commit: Commit, user: User, input: StartDiscussion, now = new Date().toISOString()): Promise<DiscussionView> {
    if (input.body.trim() === '') throw noteInvalid({ note: ["can't be blank"] });
    let place: Pick<NoteRow, 'path' | 'line' | 'lineType'> = { path: null, line: null, lineType: null };
    if (input.position) {
      const p = input.position;
      const base = commit.parents[0] ?? BLANK_SHA;
      if (!sameSha(p.head_sha, commit.oid) || !sameSha(p.base_sha, base) || !sameSha(p.start_sha, base)) throw noteInvalid({ commit_id: ['does not match the diff refs'] });
      const found = p.position_type === 'text' ? await this.positionLine(project, commit, p) : null;
      if (p.position_type === 'text' && !found) throw noteInvalid({ line_code: ["can't be blank"] });
      place = found ?? { path: p.new_path ?? p.old_path, line: null, lineType: null };
    }
    const discussionId = newDiscussionId();
    const started = await this.store.update(project.id, commit.oid, async (record, ids): Promise<DiscussionView> => {
      const row: NoteRow = {
        id: await ids.next('note'),
        note: input.body,
        ...place,
        userId: user.id,
        createdAt: input.createdAt ?? now,
        updatedAt: now,
        type: input.position ? 'DiffNote' : 'DiscussionNote',
        discussionId,
        ...(input.position ? { position: input.position } : {}),
      };
      record.notes.push(row);
      return { id: discussionId, individualNote: false, notes: [row] };
    });
    return this.told(started, project, commit.oid, started.notes[0], 'create');
  }

  /**
   * POST discussions/:id/notes: a reply takes the thread's type and place; replying to a plain
   * note turns it into a discussion (Discussion#convert_to_discussion!), as GitLab does.
   */
  async reply(project: Project, commit: Commit, user: User, discussionId: string, body: string, createdAt?: string, now = new Date().toISOString()): Promise<NoteRow> {
    const replied = await this.store.update(project.id, commit.oid, async (record, ids) => {
      const thread = record.notes.filter((n) => discussionIdOf(commit.oid, n) === discussionId).sort(byCreation);
      if (thread.length === 0) throw notFound('Discussion');
      if (body.trim() === '') throw noteInvalid({ note: ["can't be blank"] });
      let first = thread[0];
      if (typeOf(first) === null) {
        // Rows are immutable: the converted note replaces the plain one.
        const converted: NoteRow = { ...first, type: 'DiscussionNote', discussionId };
        record.notes[record.notes.indexOf(first)] = converted;
        first = converted;
      }
      const row: NoteRow = {
        id: await ids.next('note'),
        note: body,
        path: first.path,
        line: first.line,
        lineType: first.lineType,
        userId: user.id,
        createdAt: createdAt ?? now,
        updatedAt: now,
        type: typeOf(first),
        discussionId,
        ...(first.position ? { position: first.position } : {}),
      };
      record.notes.push(row);
      return row;
    });
    return this.told(replied, project, commit.oid, replied, 'create');
  }

  /** One note of one discussion (404 Note when the discussion has no such note). */
  async note(projectId: number, sha: string, discussionId: string, noteId: number): Promise<NoteRow> {
    const found = (await this.list(projectId, sha)).find((n) => n.id === noteId && discussionIdOf(sha, n) === discussionId);
    if (!found) throw notFound('Note');
    return found;
  }

  /** PUT or DELETE discussions/:id/notes/:note_id; `mayChange` decides the author-or-maintainer rule. */
  async changeNote(project: Project, sha: string, discussionId: string, noteId: number, change: { body: string } | 'delete', mayChange: (note: NoteRow) => void, now = new Date().toISOString()): Promise<NoteRow | null> {
    const changed = await this.store.update(project.id, sha, (record) => {
      const index = record.notes.findIndex((n) => n.id === noteId && discussionIdOf(sha, n) === discussionId);
      if (index < 0) throw notFound('Note');
      const note = record.notes[index];
      mayChange(note);
      if (change === 'delete') {
        record.notes.splice(index, 1);
        return null;
      }
      if (change.body.trim() === '') throw noteInvalid({ note: ["can't be blank"] });
      const edited: NoteRow = { ...note, note: change.body, updatedAt: now };
      record.notes[index] = edited;
      return edited;
    });
    return this.told(changed, project, sha, changed, 'update');
  }

  /** The diff line a text position names: an added line (new_line), a removed one (old_line), or an unchanged one (both). */
  private async positionLine(project: Project, commit: Commit, p: DiffPosition): Promise<Pick<NoteRow, 'path' | 'line' | 'lineType'> | null> {
    const path = p.new_path ?? p.old_path;
    const oldLine = p.old_line ?? null;
    const newLine = p.new_line ?? null;
    if (path === null || (oldLine === null && newLine === null)) return null;
    for (const hunk of (await project.repo.fileHunks(commit, path)) ?? []) {
      let oldNo = hunk.oldLines === 0 ? hunk.oldStart + 1 : hunk.oldStart;
      let newNo = hunk.newLines === 0 ? hunk.newStart + 1 : hunk.newStart;
      for (const text of hunk.lines) {
        const kind = text[0];
        if (kind === '-') {
          if (newLine === null && oldLine === oldNo) return { path, line: oldNo, lineType: 'old' };
          oldNo++;
        } else if (kind === '+') {
          if (oldLine === null && newLine === newNo) return { path, line: newNo, lineType: 'new' };
          newNo++;
        } else if (kind === ' ') {
          if (oldLine === oldNo && newLine === newNo) return { path, line: newNo, lineType: null };
          oldNo++;
          newNo++;
        }
      }
    }
    return null;
  }

  private async diffHasLine(project: Project, commit: Commit, path: string, line: number, lineType: 'new' | 'old', numbering: LineNumbering): Promise<boolean> {
    for (const hunk of (await project.repo.fileHunks(commit, path)) ?? []) {
      let oldNo = hunk.oldLines === 0 ? hunk.oldStart + 1 : hunk.oldStart;
      let newNo = hunk.newLines === 0 ? hunk.newStart + 1 : hunk.newStart;
      for (const text of hunk.lines) {
        const kind = text[0];
        if (kind === '-') {
          if (lineType === 'old' && (numbering === 'by-type' ? oldNo : newNo) === line) return true;
          oldNo++;
        } else if (kind === '+') {
          if (lineType === 'new' && newNo === line) return true;
          newNo++;
        } else if (kind === ' ') {
          oldNo++;
          newNo++;
        }
      }
    }
    return false;
  }
}

const byCreation = (a: NoteRow, b: NoteRow) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id - b.id);

/** GitLab's message for a note the model refuses. */
function noteInvalid(errors: Record<string, string[]>): Error {
  const hash = Object.entries(errors).map(([key, messages]) => `:${key}=>[${messages.map((m) => JSON.stringify(m)).join(', ')}]`).join(', ');
  return apiError(`400 Bad request - Note {${hash}}`);
}

/** A discussion id is 40 hex digits, like GitLab's. */
function newDiscussionId(): string {
  return randomBytes(20).toString('hex');
}

function legacyDiscussionId(sha: string, place: Pick<NoteRow, 'path' | 'line' | 'lineType'>): string {
  return createHash('sha1').update(`legacy-diff:${sha}:${place.path}:${place.lineType}:${place.line}`).digest('hex');
}

/** Rows written before discussions existed: a line comment is a LegacyDiffNote, anything else a plain note of its own. */
export function typeOf(note: NoteRow): NoteType {
  return note.type !== undefined ? note.type : note.path === null ? null : 'LegacyDiffNote';
}

function discussionIdOf(sha: string, note: NoteRow): string {
  if (note.discussionId) return note.discussionId;
  return typeOf(note) === 'LegacyDiffNote' ? legacyDiscussionId(sha, note) : createHash('sha1').update(`note:${sha}:${note.id}`).digest('hex');
}

/** Gitlab::Git.shas_eql?: equal over the shorter of the two (an abbreviated SHA names its commit). */
function sameSha(given: string | null, actual: string): boolean {
  if (!given) return actual === BLANK_SHA;
  const n = Math.min(given.length, actual.length);
  return n >= 7 && given.slice(0, n).toLowerCase() === actual.slice(0, n);
}
