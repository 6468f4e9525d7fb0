import { apiError } from '../errors.js';
import type { Commit } from '../git/index.js';
import type { Project } from '../projects/registry.js';
import type { NoteRow, SidecarStore } from '../store/sidecar.js';
import type { User } from '../users.js';

export type LineNumbering = 'by-type' | 'new-position';

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
export class CommitComments {
  constructor(private readonly store: SidecarStore) {}

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
    return this.store.update(project.id, commit.oid, async (record, ids) => {
      const row: NoteRow = { id: await ids.next('note'), note: input.note, ...position, userId: user.id, createdAt: now };
      record.notes.push(row);
      return row;
    });
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
