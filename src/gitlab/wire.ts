import type { DiffPosition } from '../store/sidecar.js';
import type { RubyFloat } from './float.js';

/**
 * GitLab's entities as they go on the wire, one interface per Grape entity, in the dialect that
 * has it. Field names are GitLab's (snake_case); `null` is sent, `?` is left out. Key order is
 * the builders' (entities.ts and friends), which follow GitLab's own.
 */

export type Timestamp = string;
export type Visibility = 'public' | 'internal' | 'private';

// ---- users ---------------------------------------------------------------------------------

/** API::Entities::UserBasic. */
export interface UserBasicEntity {
  id: number;
  username: string;
  name: string;
  state: 'active';
  locked: false;
  avatar_url: null;
  web_url: string;
}

/** `GET /user`: UserPublic (v4), without `locked` on v3; `is_admin` only for admins. */
export interface CurrentUserEntity extends Omit<UserBasicEntity, 'locked'> {
  locked?: false;
  created_at: Timestamp;
  bio: string;
  location: string;
  public_email: null;
  skype: string;
  linkedin: string;
  twitter: string;
  website_url: string;
  organization: string;
  job_title: string;
  pronouns: null;
  bot: false;
  work_information: null;
  followers: number;
  following: number;
  last_sign_in_at: null;
  confirmed_at: Timestamp;
  last_activity_on: null;
  email: string;
  theme_id: number;
  color_scheme_id: number;
  projects_limit: number;
  current_sign_in_at: null;
  identities: [];
  can_create_group: boolean;
  can_create_project: boolean;
  two_factor_enabled: false;
  external: false;
  private_profile: false;
  commit_email: string;
  is_admin?: true;
}

// ---- commits -------------------------------------------------------------------------------

/** API::Entities::CommitStats. */
export interface CommitStatsEntity {
  additions: number;
  deletions: number;
  total: number;
}

/** v4 API::Entities::Commit (lists, compare), with `stats` as CommitWithStats. */
export interface CommitEntity {
  id: string;
  short_id: string;
  created_at: Timestamp;
  parent_ids: string[];
  title: string;
  message: string;
  author_name: string;
  author_email: string;
  authored_date: Timestamp;
  committer_name: string;
  committer_email: string;
  committed_date: Timestamp;
  trailers: Record<string, string>;
  extended_trailers: Record<string, string[]>;
  web_url: string;
  stats?: CommitStatsEntity;
}

/** API::Entities::PipelineBasic, as a commit's `last_pipeline`. */
export interface PipelineBasicEntity {
  id: number;
  iid: number;
  project_id: number;
  sha: string;
  ref: string;
  status: string;
  source: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  web_url: string;
}

/** v4 API::Entities::CommitDetail. */
export interface CommitDetailEntity extends Omit<CommitEntity, 'stats'> {
  stats?: CommitStatsEntity;
  status: string | null;
  project_id: number;
  last_pipeline: PipelineBasicEntity | null;
}

/** v3 (8.x) RepoCommit. */
export interface CommitV3Entity {
  id: string;
  short_id: string;
  title: string;
  author_name: string;
  author_email: string;
  created_at: Timestamp;
  message: string;
}

/** v3 (8.x) RepoCommitDetail. */
export interface CommitDetailV3Entity extends CommitV3Entity {
  committed_date: Timestamp;
  authored_date: Timestamp;
  parent_ids: string[];
  stats?: CommitStatsEntity;
  status: string | null;
}

/** The thin commit 8.x put inside branches and tags. */
export interface RefCommitV3Entity {
  id: string;
  message: string;
  parent_ids: string[];
  authored_date: Timestamp;
  author_name: string;
  author_email: string;
  committed_date: Timestamp;
  committer_name: string;
  committer_email: string;
}

/** API::Entities::CommitSignature, by signature type. fakelab has no keys: always unverified. */
export type SignatureEntity =
  | {
      signature_type: 'PGP';
      verification_status: 'unverified';
      commit_source: 'gitaly';
      gpg_key_id: null;
      gpg_key_primary_keyid: string | null;
      gpg_key_user_name: null;
      gpg_key_user_email: null;
      gpg_key_subkey_id: null;
    }
  | { signature_type: 'SSH'; verification_status: 'unverified'; commit_source: 'gitaly'; key: null }
  | { signature_type: 'X509'; verification_status: 'unverified'; commit_source: 'gitaly'; x509_certificate: null };

// ---- diffs and compare ---------------------------------------------------------------------

interface DiffPaths {
  new_path: string;
  old_path: string;
  a_mode: string;
  b_mode: string;
  new_file: boolean;
  renamed_file: boolean;
  deleted_file: boolean;
}

/** v4 API::Entities::Diff. */
export interface DiffEntity extends DiffPaths {
  diff: string;
  collapsed: false;
  too_large: boolean;
  generated_file: false;
}

/** v3 (8.x) Diff: the original eight keys. */
export interface DiffV3Entity extends DiffPaths {
  diff: string;
}

/** API::Entities::Compare (v4 adds `web_url`). */
export interface CompareEntity<C, D> {
  commit: C | null;
  commits: C[];
  diffs: D[];
  compare_timeout: boolean;
  compare_same_ref: boolean;
  web_url?: string;
}

// ---- refs ----------------------------------------------------------------------------------

/** v4 API::Entities::Branch. */
export interface BranchEntity {
  name: string;
  commit: CommitEntity;
  merged: boolean;
  protected: boolean;
  developers_can_push: false;
  developers_can_merge: false;
  can_push: boolean;
  default: boolean;
  web_url: string;
}

/** v3 (8.x) RepoBranch. */
export interface BranchV3Entity {
  name: string;
  commit: RefCommitV3Entity;
  merged: false;
  protected: boolean;
  developers_can_push: false;
  developers_can_merge: false;
}

/** v4 API::Entities::Tag. */
export interface TagEntity {
  name: string;
  message: string;
  target: string;
  commit: CommitEntity | null;
  release: null;
  protected: false;
  created_at: Timestamp | null;
}

/** v3 (8.x) RepoTag. */
export interface TagV3Entity {
  name: string;
  message: string | null;
  commit: RefCommitV3Entity | null;
  release: null;
}

// ---- projects ------------------------------------------------------------------------------

/** v4 API::Entities::BasicProjectDetails' namespace. */
export interface NamespaceEntity {
  id: number;
  name: string;
  path: string;
  full_path: string;
  kind: 'group' | 'user';
  parent_id: number | null;
  avatar_url: null;
  web_url: string;
}

/** v4 API::Entities::Project (the fields fakelab has). */
export interface ProjectEntity {
  id: number;
  description: string | null;
  name: string;
  name_with_namespace: string;
  path: string;
  path_with_namespace: string;
  created_at: Timestamp;
  default_branch: string | null;
  tag_list: string[];
  topics: string[];
  ssh_url_to_repo: string;
  http_url_to_repo: string;
  web_url: string;
  readme_url: null;
  avatar_url: null;
  forks_count: number;
  star_count: number;
  last_activity_at: Timestamp;
  namespace: NamespaceEntity;
  empty_repo: boolean;
  archived: false;
  visibility: Visibility;
  permissions: { project_access: { access_level: number; notification_level: number } | null; group_access: null };
}

/** API::Entities::BasicProjectDetails (simple=true lists, and anonymous callers' lists). */
export type BasicProjectEntity = Pick<
  ProjectEntity,
  'id' | 'description' | 'name' | 'name_with_namespace' | 'path' | 'path_with_namespace' | 'created_at' | 'default_branch' | 'tag_list' | 'topics' | 'ssh_url_to_repo' | 'http_url_to_repo' | 'web_url' | 'readme_url' | 'avatar_url' | 'forks_count' | 'star_count' | 'last_activity_at' | 'namespace'
>;

/** v3 (8.x) Project. */
export interface ProjectV3Entity {
  id: number;
  description: string | null;
  default_branch: string | null;
  tag_list: string[];
  public: boolean;
  archived: false;
  visibility_level: 0 | 10 | 20;
  ssh_url_to_repo: string;
  http_url_to_repo: string;
  web_url: string;
  name: string;
  name_with_namespace: string;
  path: string;
  path_with_namespace: string;
  builds_enabled: true;
  created_at: Timestamp;
  last_activity_at: Timestamp;
  namespace: { id: number; name: string; path: string; kind: 'group' | 'user' };
  avatar_url: null;
  star_count: number;
  forks_count: number;
}

// ---- CI and notes --------------------------------------------------------------------------

/** API::Entities::CommitStatus (v3 has no `pipeline_id`). */
export interface StatusEntity {
  id: number;
  sha: string;
  ref: string;
  status: string;
  name: string;
  target_url: string | null;
  description: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  allow_failure: false;
  /** A Float: written as `100.0`. */
  coverage: RubyFloat | null;
  author: UserBasicEntity;
  pipeline_id?: number;
}

/** API::Entities::CommitNote. */
export interface NoteEntity {
  note: string;
  path: string | null;
  line: number | null;
  line_type: 'new' | 'old' | null;
  author: UserBasicEntity;
  created_at: Timestamp;
}

/** API::Entities::Note, as a commit's discussions show it (v4 only). */
export interface DiscussionNoteEntity {
  id: number;
  type: 'DiscussionNote' | 'DiffNote' | 'LegacyDiffNote' | null;
  body: string;
  author: UserBasicEntity;
  created_at: Timestamp;
  updated_at: Timestamp;
  system: false;
  /** A commit is not a database row: its notes carry no noteable_id. */
  noteable_id: null;
  noteable_type: 'Commit';
  project_id: number;
  /** DiffNotes only. */
  position?: DiffPosition;
  resolvable: false;
  confidential: false;
  internal: false;
  imported: false;
  imported_from: 'none';
  noteable_iid: null;
  commands_changes: Record<string, never>;
}

/** API::Entities::Discussion. */
export interface DiscussionEntity {
  id: string;
  individual_note: boolean;
  notes: DiscussionNoteEntity[];
}

// ---- meta ----------------------------------------------------------------------------------

/** `GET /version`. */
export interface VersionEntity {
  version: string;
  revision: string;
  kas?: { enabled: false; externalUrl: null; externalK8sProxyUrl: null; version: null };
  enterprise?: false;
}

// ---- repository contents -------------------------------------------------------------------

/** API::Entities::TreeObject: one entry of `GET repository/tree`. */
export interface TreeObjectEntity {
  id: string;
  name: string;
  type: 'tree' | 'blob' | 'commit';
  path: string;
  /** Six octal digits ("040000" for a tree). */
  mode: string;
}

/** The file metadata of `GET repository/files/:file_path` (lib/api/files.rb `blob_data`), also sent as X-Gitlab-* headers. */
export interface FileMetadata {
  file_name: string;
  file_path: string;
  size: number;
  encoding: 'base64';
  content_sha256: string;
  /** The `ref` parameter as given (null when the raw route was asked without one). */
  ref: string | null;
  blob_id: string;
  commit_id: string;
  last_commit_id: string | null;
  execute_filemode: boolean;
}

/** `GET repository/files/:file_path`: the metadata and the content, base64. */
export interface RepositoryFileEntity extends FileMetadata {
  content: string;
}

/** `GET repository/blobs/:sha`. */
export interface BlobEntity {
  size: number;
  encoding: 'base64';
  content: string;
  sha: string;
}

/** API::Entities::Contributor (GitLab counts no lines here: additions and deletions are 0). */
export interface ContributorEntity {
  name: string;
  email: string;
  commits: number;
  additions: number;
  deletions: number;
}

// ---- pipelines and hooks (v4) --------------------------------------------------------------

/** Gitlab::Ci::Status::Core#to_h, as DetailedStatusEntity shows it. */
export interface DetailedStatusEntity {
  icon: string;
  text: string;
  label: string;
  group: string;
  tooltip: string;
  has_details: boolean;
  details_path: string;
  illustration: null;
  favicon: string;
}

/** API::Entities::Ci::Pipeline (a single pipeline, /pipelines/latest). */
export interface PipelineEntity extends PipelineBasicEntity {
  before_sha: string;
  tag: boolean;
  yaml_errors: null;
  user: UserBasicEntity;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  committed_at: null;
  duration: number | null;
  queued_duration: number | null;
  coverage: string | null;
  detailed_status: DetailedStatusEntity;
}

/** API::Entities::Hook (a system hook; a project hook's first fields). */
export interface SystemHookEntity {
  id: number;
  url: string;
  name: string;
  description: string;
  created_at: Timestamp;
  push_events: boolean;
  tag_push_events: boolean;
  merge_requests_events: boolean;
  repository_update_events: boolean;
  enable_ssl_verification: boolean;
  alert_status: 'executable' | 'disabled' | 'temporarily_disabled';
  disabled_until: Timestamp | null;
  url_variables: { key: string }[];
  push_events_branch_filter: string | null;
  branch_filter_strategy: string;
}

/** API::Entities::ProjectHook. */
export interface ProjectHookEntity extends SystemHookEntity {
  custom_webhook_template: string | null;
  custom_headers: { key: string }[];
  project_id: number;
  issues_events: boolean;
  confidential_issues_events: boolean;
  note_events: boolean;
  confidential_note_events: boolean | null;
  pipeline_events: boolean;
  wiki_page_events: boolean;
  deployment_events: boolean;
  feature_flag_events: boolean;
  job_events: boolean;
  releases_events: boolean;
  milestone_events: boolean;
  emoji_events: boolean;
  resource_access_token_events: boolean;
}

/** API::Entities::Hooks::WebHookLog (GET hooks/:hook_id/events). */
export interface WebHookLogEntity {
  id: number;
  url: string;
  trigger: string;
  request_headers: Record<string, string>;
  request_data: unknown;
  response_headers: Record<string, string>;
  response_body: string;
  execution_duration: number;
  response_status: string;
  created_at: string;
}
