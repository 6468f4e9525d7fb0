import { pathSegments, query } from './html.js';

/**
 * The pages' own URLs, root-relative, at GitLab's web paths (the `web_url`s the API hands out):
 * every segment percent-encoded, a ref's slashes kept as path separators.
 */
export const links = {
  home: (search?: string) => `/${query({ search })}`,
  project: (project: string) => `/${pathSegments(project)}`,
  commits: (project: string, ref: string, opts: { path?: string; page?: number } = {}) =>
    `/${pathSegments(project)}/-/commits/${pathSegments(ref)}${query({ path: opts.path, page: opts.page && opts.page > 1 ? opts.page : undefined })}`,
  commit: (project: string, sha: string) => `/${pathSegments(project)}/-/commit/${encodeURIComponent(sha)}`,
  compare: (project: string, from: string, to: string) => `/${pathSegments(project)}/-/compare/${pathSegments(from)}...${pathSegments(to)}`,
  branches: (project: string) => `/${pathSegments(project)}/-/branches`,
  tags: (project: string) => `/${pathSegments(project)}/-/tags`,
  pipeline: (project: string, id: number) => `/${pathSegments(project)}/-/pipelines/${id}`,
  control: (filters: Record<string, string | undefined> = {}) => `/-/fakelab${query(filters)}`,
  login: (returnTo?: string) => `/-/login${query({ return_to: returnTo })}`,
  logout: () => '/-/logout',
  reset: () => '/-/fakelab/reset',
};
