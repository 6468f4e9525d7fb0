import type { BlameLine, Commit } from '../git/index.js';
import { gitDate } from './format.js';

/** API::Entities::BlameRangeCommit. */
export interface BlameRangeCommitEntity {
  id: string;
  parent_ids: string[];
  message: string;
  authored_date: string;
  author_name: string;
  author_email: string;
  committed_date: string;
  committer_name: string;
  committer_email: string;
}

/** API::Entities::BlameRange: a run of consecutive lines blamed on one commit. */
export interface BlameRangeEntity {
  commit: BlameRangeCommitEntity;
  lines: string[];
}

export function blameRangeCommit(commit: Commit): BlameRangeCommitEntity {
  return {
    id: commit.oid,
    parent_ids: commit.parents,
    message: commit.message,
    authored_date: gitDate(commit.author),
    author_name: commit.author.name,
    author_email: commit.author.email,
    committed_date: gitDate(commit.committer),
    committer_name: commit.committer.name,
    committer_email: commit.committer.email,
  };
}

/**
 * Gitlab::Blame#groups: consecutive lines blamed on the same commit make one range (lines in
 * UTF-8, without their newline).
 */
export function blameRanges(lines: Buffer[], blame: BlameLine[], first: number, commits: Map<string, Commit>): BlameRangeEntity[] {
  const ranges: BlameRangeEntity[] = [];
  let previous: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const oid = blame[first + i].commit;
    if (oid !== previous) ranges.push({ commit: blameRangeCommit(commits.get(oid)!), lines: [] });
    ranges[ranges.length - 1].lines.push(lines[i].toString('utf8'));
    previous = oid;
  }
  return ranges;
}
