import { GitLabError, forbidden, notFound, unauthorized } from '../errors.js';
import { administrator, type User } from '../users.js';
import type { AccessConfig, Role, Visibility } from './config-file.js';

/** Who is calling, and with what token. */
export interface Principal {
  user: User;
  scopes: string[];
  /** A CI job token, valid for one project and a few routes only. */
  jobProject?: string;
}

export type Ability =
  | 'read_project' // see it at all (else 404)
  | 'read_code' // repository reads: commits, diffs, refs, compare, branches, tags, comments
  | 'read_status' // GET statuses
  | 'create_status'
  | 'create_note'
  | 'admin_note' // change or delete someone else's note
  | 'push_code'
  /** GitLab's `authorize! :push_code, user_project` (Branches, Tags and Files APIs): Developer+, no sign-in check first (anonymous gets 403). */
  | 'push_project'
  /** Pipelines (read_pipeline): anyone who sees a public or internal project; reporters of a private one. */
  | 'read_pipeline'
  /** Project hooks (admin_project): maintainers and owners. */
  | 'admin_project';

const RANK: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };

interface TokenRecord {
  principal: Principal;
  expiresAt?: string;
  revoked?: boolean;
  job: boolean;
}

const OAUTH_REALM = 'Bearer realm="Protected by OAuth 2.0"';

function oauthError(status: number, error: string, description: string, extra: Record<string, string> = {}): GitLabError {
  const params = Object.entries({ error, error_description: description, ...extra })
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return new GitLabError(status, { error, error_description: description, ...extra }, { 'WWW-Authenticate': `${OAUTH_REALM}, ${params}` });
}

/**
 * GitLab's rules for who may do what, per project visibility, membership role and token scope.
 * A private project the caller cannot see is "404 Project Not Found", never 403.
 */
export class AccessPolicy {
  private readonly tokens = new Map<string, TokenRecord>();
  // Maps and own-property lookups only: a name like "constructor" must not find Object.prototype.
  private readonly projects: Map<string, AccessConfig['projects'][string]>;
  /** Every user by lower-case username, the built-in administrator included (sudo's lookup). */
  private readonly usersByName: Map<string, User>;
  /** What POST /projects recorded for a project the configuration does not list: its visibility and creator. */
  private createdFacts: (path: string) => { visibility?: Visibility; creator?: string } | undefined = () => undefined;

  /** Consults `facts` for projects the configuration does not list (those created through the API). */
  useCreatedFacts(facts: (path: string) => { visibility?: Visibility; creator?: string } | undefined): void {
    this.createdFacts = facts;
  }

  /** A user by username (case-insensitive), the built-in administrator included. */
  userByName(username: string): User | undefined {
    return this.usersByName.get(username.toLowerCase());
  }

  /** The creator's ownership of a project created in their own namespace (GitLab adds them as owner). */
  private creatorRole(principal: Principal, path: string): Role | null {
    if (this.projects.has(path.toLowerCase())) return null;
    const creator = this.createdFacts(path)?.creator;
    return creator !== undefined && creator.toLowerCase() === principal.user.username.toLowerCase() ? 'owner' : null;
  }

  /**
   * The policy an access configuration declares, with its users as User records. `adminToken`
   * (the CLI's --token) acts as root: the configuration's own root when it makes root an admin,
   * else the built-in administrator.
   */
  static fromConfig(config: AccessConfig, adminToken?: string): AccessPolicy {
    const users = config.users.map((u): User => ({ id: u.id, username: u.username, name: u.name, email: u.email, admin: u.admin ?? false, createdAt: administrator.createdAt }));
    const byName = new Map<string, User>([[administrator.username, administrator]]);
    for (const user of users) byName.set(user.username, user);
    const root = byName.get(administrator.username)!;
    return new AccessPolicy(config, users, byName, adminToken ? { token: adminToken, user: root.admin ? root : administrator } : undefined);
  }

  private constructor(
    /** What the policy was built from (the CLI prints its tokens). */
    readonly config: AccessConfig,
    /** The users the configuration declares. */
    readonly users: readonly User[],
    byName: Map<string, User>,
    adminToken?: { token: string; user: User },
  ) {
    this.projects = new Map(Object.entries(config.projects).map(([path, p]) => [path.toLowerCase(), p]));
    this.usersByName = new Map([...byName.values()].map((u) => [u.username.toLowerCase(), u]));
    for (const t of config.tokens) {
      this.tokens.set(t.token, { principal: { user: byName.get(t.user)!, scopes: t.scopes }, expiresAt: t.expires_at, revoked: t.revoked, job: false });
    }
    for (const t of config.job_tokens) {
      this.tokens.set(t.token, { principal: { user: byName.get(t.user)!, scopes: ['api'], jobProject: t.project.toLowerCase() }, job: true });
    }
    if (adminToken) this.tokens.set(adminToken.token, { principal: { user: adminToken.user, scopes: ['api'] }, job: false });
  }

  /**
   * The principal for a presented token (null: anonymous). Unknown tokens, and job tokens where
   * GitLab does not take them, are 401; expired and revoked ones get GitLab's OAuth-style 401.
   */
  authenticate(token: string | null, kind: 'personal' | 'job', jobTokenAllowed: boolean, now = new Date()): Principal | null {
    if (token === null) return null;
    const record = this.tokens.get(token);
    if (!record || record.job !== (kind === 'job') || (record.job && !jobTokenAllowed)) throw unauthorized();
    if (record.revoked) throw oauthError(401, 'invalid_token', 'Token was revoked. You have to re-authorize from the user.');
    if (record.expiresAt && new Date(`${record.expiresAt.slice(0, 10)}T00:00:00Z`) <= now) {
      throw oauthError(401, 'invalid_token', 'Token is expired. You can either do re-authorization or token refresh.');
    }
    return record.principal;
  }

  /**
   * read_api reads; api everything; read_user only the user endpoints; read_repository the Files
   * API's reads. Anything else: 403 insufficient_scope.
   */
  checkScope(principal: Principal | null, method: string, userRoute: boolean, filesRoute = false): void {
    if (!principal || principal.scopes.includes('api')) return;
    const read = method === 'GET' || method === 'HEAD';
    const accepted = read ? ['api', 'read_api', ...(userRoute ? ['read_user'] : []), ...(filesRoute ? ['read_repository'] : [])] : ['api'];
    if (principal.scopes.some((s) => accepted.includes(s))) return;
    throw oauthError(403, 'insufficient_scope', 'The request requires higher privileges than provided by the access token.', { scope: accepted.join(' ') });
  }

  /**
   * GitLab's sudo! (lib/api/helpers.rb): a request naming a user in `sudo` (parameter or header)
   * acts as that user (an id or a username) when an admin's personal token with the sudo scope
   * makes it. 8.x (v3) had no sudo scope and its own not-found message.
   */
  sudo(principal: Principal | null, kind: 'personal' | 'job' | undefined, identifier: string, dialect: 'v3' | 'v4'): Principal {
    if (!principal) throw unauthorized();
    if (!principal.user.admin) throw forbidden('Must be admin to use sudo');
    if (kind === 'job') throw forbidden('Must be authenticated using an OAuth or Personal Access Token to use sudo');
    if (dialect === 'v4' && !principal.scopes.includes('sudo')) {
      throw oauthError(403, 'insufficient_scope', 'The request requires higher privileges than provided by the access token.', { scope: 'sudo' });
    }
    const user = /^\d+$/.test(identifier)
      ? [...this.usersByName.values()].find((u) => u.id === Number(identifier))
      : this.usersByName.get(identifier.toLowerCase());
    if (!user) throw notFound(dialect === 'v4' ? `User with ID or username '${identifier}'` : `No user id or username for: ${identifier}`);
    return { ...principal, user };
  }

  /** GitLab's authenticated_as_admin!: 401 without a user, 403 for a user who is not an admin. */
  requireAdmin(principal: Principal | null): void {
    if (!principal) throw unauthorized();
    if (!principal.user.admin) throw forbidden();
  }

  visibility(path: string): Visibility {
    const listed = this.projects.get(path.toLowerCase());
    return listed ? (listed.visibility ?? 'public') : (this.createdFacts(path)?.visibility ?? 'public');
  }

  role(principal: Principal | null, path: string): Role | null {
    if (!principal) return null;
    if (principal.user.admin) return 'owner';
    if (principal.jobProject !== undefined) return principal.jobProject === path.toLowerCase() ? 'developer' : null;
    const members = this.projects.get(path.toLowerCase())?.members;
    return members && Object.hasOwn(members, principal.user.username) ? members[principal.user.username] : this.creatorRole(principal, path);
  }

  /**
   * The access level (Gitlab::Access: guest 10 ... owner 50) of the caller's own membership of
   * the project, as its member row says: an admin who is not a member, a job token or an
   * anonymous caller has none (null).
   */
  memberAccessLevel(principal: Principal | null, path: string): number | null {
    if (!principal || principal.jobProject !== undefined) return null;
    const members = this.projects.get(path.toLowerCase())?.members;
    if (members && Object.hasOwn(members, principal.user.username)) return RANK[members[principal.user.username]];
    return this.creatorRole(principal, path) ? RANK.owner : null;
  }

  /** Whether the caller's role in the project (an admin's counts as owner) is `minimum` or above. */
  hasRole(principal: Principal | null, path: string, minimum: Role): boolean {
    const role = this.role(principal, path);
    return role !== null && RANK[role] >= RANK[minimum];
  }

  /** Whether the caller owns the project (remove_project): an admin, an owner member, or its creator. */
  isOwner(principal: Principal | null, path: string): boolean {
    return principal !== null && principal.jobProject === undefined && this.role(principal, path) === 'owner';
  }

  isProtected(path: string, branch: string): boolean {
    return (this.projects.get(path.toLowerCase())?.protected_branches ?? []).includes(branch);
  }

  /** Whether `principal` sees every project, whatever its visibility (an admin does). */
  seesEveryProject(principal: Principal | null): boolean {
    return principal?.user.admin === true;
  }

  canSee(principal: Principal | null, path: string): boolean {
    if (this.seesEveryProject(principal)) return true;
    const visibility = this.visibility(path);
    // A job token sees public projects and its own.
    if (principal?.jobProject !== undefined) return visibility === 'public' || this.role(principal, path) !== null;
    if (visibility === 'public') return true;
    if (visibility === 'internal') return principal !== null;
    return this.role(principal, path) !== null;
  }

  /** Whether `principal` may do `ability` (the branch entity's can_push, for one). */
  can(principal: Principal | null, path: string, ability: Ability, branch?: string): boolean {
    try {
      this.require(principal, path, ability, branch);
      return true;
    } catch (err) {
      if (err instanceof GitLabError) return false;
      throw err;
    }
  }

  /** Throws GitLab's answer when `principal` may not do `ability` on the project at `path`. */
  require(principal: Principal | null, path: string, ability: Ability, branch?: string): void {
    if (!this.canSee(principal, path)) throw notFound('Project');
    const role = this.role(principal, path);
    const rank = role ? RANK[role] : 0;
    const isPrivate = this.visibility(path) === 'private';
    switch (ability) {
      case 'read_project':
        return;
      case 'read_code':
      case 'create_note':
        // Guests of a private project may not read its code.
        if (ability === 'create_note' && !principal) throw unauthorized();
        if (isPrivate && rank < RANK.reporter) throw forbidden();
        return;
      case 'admin_note':
        if (!principal) throw unauthorized();
        if (rank < RANK.maintainer) throw forbidden();
        return;
      case 'read_status':
        // Needs a user; guests lack read_commit_status, and private projects need reporters.
        if (!principal) throw unauthorized();
        if (role === 'guest' || (isPrivate && rank < RANK.reporter)) throw forbidden();
        return;
      case 'create_status':
        // A status on a protected ref needs the right to push to it.
        if (!principal) throw unauthorized();
        if (rank < RANK.developer || (branch !== undefined && this.isProtected(path, branch) && rank < RANK.maintainer)) throw forbidden();
        return;
      case 'push_project':
        if (rank < RANK.developer) throw forbidden();
        return;
      case 'read_pipeline':
        if (isPrivate && rank < RANK.reporter) throw forbidden();
        return;
      case 'admin_project':
        if (!principal) throw unauthorized();
        if (rank < RANK.maintainer) throw forbidden();
        return;
      case 'push_code': {
        if (!principal) throw unauthorized();
        const protectedBranch = branch !== undefined && this.isProtected(path, branch);
        if (rank < (protectedBranch ? RANK.maintainer : RANK.developer)) throw forbidden('You are not allowed to push into this branch');
        return;
      }
    }
  }
}
