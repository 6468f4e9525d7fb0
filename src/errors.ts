/**
 * One error type for everything the API answers with a non-2xx status. The body is exactly what
 * GitLab sends; the error middleware writes it verbatim.
 */
export class GitLabError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
    /** Sent as text/plain instead of the JSON body: git's HTTP answers (git prints it to its user as `remote:` lines). */
    readonly text?: string,
  ) {
    super(typeof body.message === 'string' ? body.message : String(body.error ?? status));
  }
}

/** `not_found!('Commit')` → 404 {"message":"404 Commit Not Found"}; `not_found!` → 404 {"message":"404 Not Found"} */
export const notFound = (what?: string) => new GitLabError(404, { message: what ? `404 ${what} Not Found` : '404 Not Found' });
/** ActiveRecord::RecordNotFound (a `find` by id: a pipeline, a hook), as the API's rescue_from answers it. */
export const recordNotFound = () => new GitLabError(404, { message: '404 Not found' });
/** Unknown route: 404 {"error":"404 Not Found"} */
export const routeNotFound = () => new GitLabError(404, { error: '404 Not Found' });
/** Grape parameter validation: 400 {"error":"since is invalid"} (messages comma-joined). */
export const invalidParams = (messages: string[]) => new GitLabError(400, { error: messages.join(', ') });
/** `render_api_error!(msg, 400)` → 400 {"message": msg} */
export const apiError = (message: unknown, status = 400) => new GitLabError(status, { message });
/** `bad_request!(reason)` → 400 {"message":"400 Bad request - <reason>"} */
export const badRequestReason = (reason: string) => new GitLabError(400, { message: `400 Bad request - ${reason}` });
export const unauthorized = () => new GitLabError(401, { message: '401 Unauthorized' });
/** render_api_error!('412 Precondition Failed', 412): a deletion with an If-Unmodified-Since older than the resource. */
export const preconditionFailed = () => new GitLabError(412, { message: '412 Precondition Failed' });
export const forbidden = (reason?: string) =>
  new GitLabError(403, { message: reason ? `403 Forbidden - ${reason}` : '403 Forbidden' });
/** Another writer kept moving the branch (or holds its lock): GitLab's Commits service answer. */
export const branchUpdateFailed = (branch: string) => apiError(`Could not update branch ${branch}. Please refresh and try again.`);
/** A body over the size limit (Rack/nginx's answer): 413 {"message":"413 Request Entity Too Large"} */
export const tooLarge = () => new GitLabError(413, { message: '413 Request Entity Too Large' });
export const internalError = () => new GitLabError(500, { message: '500 Internal Server Error' });
/** A write refused for lack of space (GitLab answers 500 too); names the area, never a path. */
export const diskFull = (area: string) => new GitLabError(500, { message: `500 Internal Server Error - no space left on device (${area})` });
/**
 * A repository whose files are damaged (GitLab answers a Gitaly failure as a 500): the body says
 * which repository and what, with files named inside the repository only, never the machine's paths.
 */
export const repositoryDamaged = (projectPath: string, problem: string) =>
  new GitLabError(500, { message: `500 Internal Server Error - repository ${projectPath} is damaged: ${problem}` });
/** A state file under the data directory that cannot be used, named relative to it (or not at all). */
export const stateFileDamaged = (description: string) => new GitLabError(500, { message: `500 Internal Server Error - ${description}` });
/** `render_validation_error!(model)`: 400 {"message": {"<attribute>": ["<message>", ...]}} */
export const validationError = (errors: Record<string, string[]>) => new GitLabError(400, { message: errors });

/**
 * An answer to a git client over HTTP: GitLab's Git HTTP controller renders its refusals as plain
 * text, which git shows its user (401 carries the Basic challenge, so git asks for credentials).
 */
export const gitRefusal = (status: number, message: string, headers: Record<string, string> = {}) => new GitLabError(status, { message }, headers, message);
