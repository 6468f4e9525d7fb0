import type { DiffLimits } from '../git/index.js';

/** GitLab's default diff limits (diff_max_files, diff_max_lines, diff_max_patch_bytes). */
export const GITLAB_DIFF_LIMITS: DiffLimits = { maxFiles: 1000, maxLines: 50000, maxPatchBytes: 204800 };
