import type { Commit, TagInfo } from '../git/index.js';
import { commitV4, type Urls } from './entities.js';
import { gitDate } from './format.js';
import type { BranchEntity, BranchV3Entity, RefCommitV3Entity, TagEntity, TagV3Entity } from './wire.js';

/** What a branch entity says about a branch, decided by the caller (access policy, merge state). */
export interface BranchFacts {
  name: string;
  commit: Commit;
  isDefault: boolean;
  /** In the project's protected branches (the rule the access policy applies to pushes). */
  isProtected: boolean;
  merged: boolean;
  canPush: boolean;
}

/** The thin commit hash 8.x put inside branches and tags. */
function legacyRefCommit(c: Commit): RefCommitV3Entity {
  return {
    id: c.oid,
    message: c.message,
    parent_ids: c.parents,
    authored_date: gitDate(c.author),
    author_name: c.author.name,
    author_email: c.author.email,
    committed_date: gitDate(c.committer),
    committer_name: c.committer.name,
    committer_email: c.committer.email,
  };
}

export function branchV4(b: BranchFacts, projectPath: string, urls: Urls): BranchEntity {
  return {
    name: b.name,
    commit: commitV4(b.commit, projectPath, urls),
    merged: b.merged,
    protected: b.isProtected,
    developers_can_push: false,
    developers_can_merge: false,
    can_push: b.canPush,
    default: b.isDefault,
    web_url: `${urls.project(projectPath)}/-/tree/${b.name.split('/').map(encodeURIComponent).join('/')}`,
  };
}

export function branchV3(b: BranchFacts): BranchV3Entity {
  return { name: b.name, commit: legacyRefCommit(b.commit), merged: false, protected: b.isProtected, developers_can_push: false, developers_can_merge: false };
}

export function tagV4(tag: TagInfo, projectPath: string, urls: Urls): TagEntity {
  const annotated = tag.annotation;
  return {
    name: tag.name,
    message: annotated ? annotated.message.replace(/\n$/, '') : '',
    target: tag.oid,
    commit: tag.commit ? commitV4(tag.commit, projectPath, urls) : null,
    release: null,
    protected: false,
    created_at: annotated?.tagger ? gitDate(annotated.tagger) : null,
  };
}

export function tagV3(tag: TagInfo): TagV3Entity {
  return { name: tag.name, message: tag.annotation?.message.replace(/\n$/, '') ?? null, commit: tag.commit ? legacyRefCommit(tag.commit) : null, release: null };
}
