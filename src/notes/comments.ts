import { apiError } from '../errors.js';
import { isBinary, diffTrees } from '../git/tree-diff.js';
import { diffHunks } from '../git/xdiff.js';
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
    sha: string,
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
      if (await this.diffHasLine(project, sha, input.path, input.line, lineType, numbering)) position = { path: input.path, line: input.line, lineType };
    }
    return this.store.update(project.id, sha, async (record, ids) => {
      const row: NoteRow = { id: await ids.next('note'), note: input.note, ...position, userId: user.id, createdAt: now };
      record.notes.push(row);
      return row;
    });
  }

  private async diffHasLine(project: Project, sha: string, path: string, line: number, lineType: 'new' | 'old', numbering: LineNumbering): Promise<boolean> {
    const repo = project.repo.repo;
    const commit = await repo.readCommit(sha);
    const parentTree = commit.parents.length > 0 ? (await repo.readCommit(commit.parents[0])).tree : null;
    const change = (await diffTrees(repo, parentTree, commit.tree)).find((c) => c.newPath === path);
    if (!change || change.oldMode === '160000' || change.newMode === '160000') return false;
    const [before, after] = await Promise.all([
      change.oldOid ? repo.readBlob(change.oldOid) : Buffer.alloc(0),
      change.newOid ? repo.readBlob(change.newOid) : Buffer.alloc(0),
    ]);
    if (isBinary(before) || isBinary(after)) return false;
    for (const hunk of diffHunks(before, after)) {
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
