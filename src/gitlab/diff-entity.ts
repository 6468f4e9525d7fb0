import type { FileDiff } from '../git/index.js';
import type { Dialect } from './entities.js';
import type { DiffEntity, DiffV3Entity } from './wire.js';

/**
 * GitLab's Diff entity. v4: hunks only (from the first '@@') unless `unidiff` asks for the
 * `---`/`+++` lines too, plus collapsed/too_large/generated_file; v3 (8.x): always with the
 * `---`/`+++` lines, and only the original eight keys.
 */
export function diffEntity(file: FileDiff, dialect: 'v4', unidiff?: boolean): DiffEntity;
export function diffEntity(file: FileDiff, dialect: 'v3'): DiffV3Entity;
export function diffEntity(file: FileDiff, dialect: Dialect, unidiff = false): DiffEntity | DiffV3Entity {
  const withHeader = dialect === 'v3' || unidiff;
  const diff = withHeader && file.body.startsWith('@@') ? file.header + file.body : file.body;
  const common = {
    new_path: file.newPath,
    old_path: file.oldPath,
    a_mode: file.aMode,
    b_mode: file.bMode,
    new_file: file.newFile,
    renamed_file: file.renamedFile,
    deleted_file: file.deletedFile,
  };
  if (dialect === 'v3') return { diff, ...common };
  return { diff, collapsed: false, too_large: file.tooLarge, ...common, generated_file: false };
}
