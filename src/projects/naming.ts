/**
 * GitLab's rules for a new project's name and path (lib/gitlab/path_regex.rb, lib/gitlab/regex.rb,
 * app/validators/project_path_validator.rb, Projects::CreateService#set_project_name_from_path),
 * as model errors keyed by attribute. fakelab adds what its files need: a path is one safe file
 * name (no leading '.', which would be hidden from scans and could name '.' or '..').
 */

/** Gitlab::PathRegex.project_path_format_message */
export const PATH_FORMAT_MESSAGE = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";
/** Gitlab::Regex.project_name_regex_message */
export const NAME_FORMAT_MESSAGE = "can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. It must start with a letter, digit, emoji, or '_'.";

/** Gitlab::PathRegex::PROJECT_WILDCARD_ROUTES (one-segment ones): a project may not be called so. */
const RESERVED_PROJECT_PATHS = new Set(['-', 'badges', 'blame', 'blob', 'builds', 'commits', 'create', 'create_dir', 'edit', 'files', 'find_file', 'new', 'preview', 'raw', 'refs', 'tree', 'update', 'wikis']);

const PATH_FORMAT = /^[a-zA-Z0-9_.][a-zA-Z0-9_\-.]*$/;
const NAME_FORMAT = /^[\p{L}\p{N}\u{00A9}-\u{1F9FF}_][\p{L}\p{N}\p{Pd}+\u{00A9}-\u{1F9FF}_. ]*$/u;
const MAX_LENGTH = 255;

export function validPathFormat(path: string): boolean {
  return PATH_FORMAT.test(path) && !/\.(git|atom)$/.test(path);
}

/** ActiveSupport's String#parameterize: ASCII letters and digits, '-' between words, lower case. */
export function parameterize(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-zA-Z0-9\-_]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
}

/** set_project_name_from_path: the name defaults to the path; the path to the name (parameterized unless already a valid path). */
export function nameAndPath(name: string | undefined, path: string | undefined): { name: string; path: string } {
  if (name !== undefined && name !== '' && path !== undefined && path !== '') return { name, path };
  if (path !== undefined && path !== '') return { name: path, path };
  const n = name ?? '';
  return { name: n, path: validPathFormat(n) ? n : parameterize(n) };
}

/** The model errors of a name and path (empty: valid). */
export function namingErrors(name: string, path: string): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  const add = (attribute: string, message: string) => (errors[attribute] ??= []).push(message);
  if (name.trim() === '') add('name', "can't be blank");
  else if (name.length > MAX_LENGTH) add('name', `is too long (maximum is ${MAX_LENGTH} characters)`);
  else if (!NAME_FORMAT.test(name)) add('name', NAME_FORMAT_MESSAGE);
  if (path === '') add('path', "can't be blank");
  // A repository folder is `<path>.git`: one file name of at most 255 bytes.
  else if (path.length > MAX_LENGTH || Buffer.byteLength(`${path}.git`) > 255) add('path', `is too long (maximum is ${MAX_LENGTH} characters)`);
  else if (!validPathFormat(path) || path.startsWith('.')) add('path', PATH_FORMAT_MESSAGE);
  else if (RESERVED_PROJECT_PATHS.has(path.toLowerCase())) add('path', `${path} is a reserved name`);
  return errors;
}
