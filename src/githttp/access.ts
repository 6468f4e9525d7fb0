import type { AccessPolicy, Principal } from '../auth/access.js';
import { GitLabError, gitRefusal } from '../errors.js';
import { NULL_SHA, type RefChange } from '../events/bus.js';

/**
 * GitLab's rules for git over HTTP (Repositories::GitHttpClientController, Gitlab::Auth,
 * Gitlab::GitAccess, Gitlab::Checks::*), with GitLab's own messages: who the Basic credentials
 * name, what the token's scopes let it do with code, and which ref updates a push may make.
 */

export type GitService = 'git-upload-pack' | 'git-receive-pack';

/** What a token lets its holder do with code (Gitlab::Auth's authentication abilities). */
export type CodeAbility = 'download_code' | 'push_code' | 'build_download_code';

export interface GitCaller {
  /** null: nobody signed in (public projects' downloads only). */
  principal: Principal | null;
  abilities: ReadonlySet<CodeAbility>;
}

/** The code abilities each personal token scope brings (Gitlab::Auth.abilities_for_scopes); other scopes bring none. */
const SCOPE_ABILITIES: Record<string, CodeAbility[]> = {
  api: ['download_code', 'push_code'],
  read_api: ['download_code'],
  read_repository: ['download_code'],
  write_repository: ['download_code', 'push_code'],
};

/** The login under which GitLab takes a CI job token as the password. */
const JOB_TOKEN_LOGIN = 'gitlab-ci-token';

export const MESSAGES = {
  authDownload: 'You are not allowed to download code.',
  authUpload: 'You are not allowed to upload code.',
  download: 'You are not allowed to download code from this project.',
  projectNotFound: 'The project you were looking for could not be found.',
  commandNotAllowed: "The command you're trying to execute is not allowed.",
  pushCode: 'You are not allowed to push code to this project.',
  deleteDefaultBranch: 'The default branch of a project cannot be deleted.',
  forcePushProtected: 'You are not allowed to force push code to a protected branch on this project.',
  deleteProtectedNotMaintainer: 'You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch.',
  deleteProtectedNotWeb: 'You can only delete protected branches using the web interface.',
  pushProtected: 'You are not allowed to push code to protected branches on this project.',
  createProtected: 'You are not allowed to create protected branches on this project.',
  hexBranchName: 'You cannot create a branch with a 40-character hexadecimal branch name.',
  changeExistingTags: 'You are not allowed to change existing tags on this project.',
  tagNamedAsDefaultBranch: 'You cannot use default branch name to create a tag',
  shaTagName: 'You cannot create a tag with a SHA-1 or SHA-256 tag name.',
} as const;

/** GitLab's 401 for git: a Basic challenge (git then asks for credentials, or fails cleanly without a prompt). */
export function accessDenied(baseUrl: string): GitLabError {
  return gitRefusal(
    401,
    "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. " +
      `If a token was provided, it was either incorrect, expired, or improperly scoped. See ${baseUrl}/help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied`,
    { 'WWW-Authenticate': 'Basic realm="GitLab"' },
  );
}

/** The user name and password of an `Authorization: Basic` header, or null when there is none. */
export function basicCredentials(header: string | undefined): { login: string; password: string } | null {
  const m = header ? /^Basic\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? { login: decoded, password: '' } : { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Who the credentials name: any login with a personal access token as password (oauth2:<token>
 * is what most tools send), `gitlab-ci-token:<job token>`; none → anonymous. Wrong, expired or
 * revoked credentials → null (GitLab's 401), never an OAuth-style body: git shows plain text.
 */
export function gitCaller(access: AccessPolicy, credentials: { login: string; password: string } | null): GitCaller | null {
  if (!credentials) return { principal: null, abilities: new Set() };
  if (!credentials.password) return null;
  const attempt = (kind: 'personal' | 'job') => {
    try {
      return access.authenticate(credentials.password, kind, true);
    } catch (err) {
      if (err instanceof GitLabError) return null;
      throw err;
    }
  };
  if (credentials.login === JOB_TOKEN_LOGIN) {
    const job = attempt('job');
    if (job) return { principal: job, abilities: new Set(['build_download_code']) };
  }
  const personal = attempt('personal');
  if (!personal) return null;
  return { principal: personal, abilities: new Set(personal.scopes.flatMap((s) => SCOPE_ABILITIES[s] ?? [])) };
}

/**
 * Gitlab::GitAccess#check for one HTTP request (info/refs, or the service's POST), in GitLab's
 * order: the token's abilities for the command, then the project (404 when the caller cannot see
 * it), then the right to download. A push's rights per ref are checked later, by its
 * pre-receive step (refUpdateRefusal), as GitLab's `allowed` API does.
 */
export function checkGitAccess(access: AccessPolicy, caller: GitCaller, service: GitService, projectPath: string | null): void {
  const { principal, abilities } = caller;
  if (principal) {
    if (service === 'git-upload-pack' && !abilities.has('download_code') && !abilities.has('build_download_code')) throw gitRefusal(403, MESSAGES.authDownload);
    if (service === 'git-receive-pack' && !abilities.has('push_code')) throw gitRefusal(403, MESSAGES.authUpload);
  }
  if (projectPath === null || !access.canSee(principal, projectPath)) throw gitRefusal(404, MESSAGES.projectNotFound);
  if (service === 'git-upload-pack' && !access.can(principal, projectPath, 'read_code')) throw gitRefusal(403, MESSAGES.download);
}

/** Whether an anonymous caller may download the project's code (GitLab lets them only then skip credentials). */
export function anonymousCanDownload(access: AccessPolicy, projectPath: string | null): boolean {
  return projectPath !== null && access.canSee(null, projectPath) && access.can(null, projectPath, 'read_code');
}

/** One update a push asks for, as receive-pack hands it to its pre-receive hook, with whether it rewrites history. */
export interface RefUpdate extends RefChange {
  /** A branch update whose new commit does not contain the old one. */
  forced: boolean;
}

/**
 * The first of the updates GitLab would refuse, as its message (null: all allowed). GitLab
 * refuses the whole push when one update is refused (Gitlab::Checks::ChangesAccess).
 */
export function refUpdateRefusal(access: AccessPolicy, principal: Principal, projectPath: string, defaultBranch: string | null, updates: RefUpdate[]): string | null {
  for (const update of updates) {
    const refusal = singleRefusal(access, principal, projectPath, defaultBranch, update);
    if (refusal) return refusal;
  }
  return null;
}

function singleRefusal(access: AccessPolicy, principal: Principal, projectPath: string, defaultBranch: string | null, update: RefUpdate): string | null {
  const creation = update.before === NULL_SHA;
  const deletion = update.after === NULL_SHA;
  const maintainer = access.hasRole(principal, projectPath, 'maintainer');
  // PushCheck: Developer and above push at all.
  if (!access.hasRole(principal, projectPath, 'developer')) return MESSAGES.pushCode;
  if (update.ref.startsWith('refs/heads/')) {
    const branch = update.ref.slice('refs/heads/'.length);
    // BranchCheck
    if (deletion && branch === defaultBranch) return MESSAGES.deleteDefaultBranch;
    if (creation && /^[0-9a-f]{40}$/i.test(branch)) return MESSAGES.hexBranchName;
    if (!access.isProtected(projectPath, branch)) return null;
    // fakelab's protected branches never allow force pushes, and allow pushes to maintainers only.
    if (update.forced) return MESSAGES.forcePushProtected;
    if (deletion) return maintainer ? MESSAGES.deleteProtectedNotWeb : MESSAGES.deleteProtectedNotMaintainer;
    if (creation) return maintainer ? null : MESSAGES.createProtected;
    return maintainer ? null : MESSAGES.pushProtected;
  }
  if (update.ref.startsWith('refs/tags/')) {
    const tag = update.ref.slice('refs/tags/'.length);
    // TagCheck: an existing tag is a maintainer's to move or delete.
    if (!creation && !maintainer) return MESSAGES.changeExistingTags;
    if (creation && tag === defaultBranch) return MESSAGES.tagNamedAsDefaultBranch;
    if (!deletion && /^(?:[0-9a-f]{40}|[0-9a-f]{64})/i.test(tag)) return MESSAGES.shaTagName;
  }
  return null;
}
