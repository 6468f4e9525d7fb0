import type { DiffLimits } from '../git/index.js';

/** GitLab's default diff limits (diff_max_files, diff_max_lines, diff_max_patch_bytes). */
export const GITLAB_DIFF_LIMITS: DiffLimits = { maxFiles: 1000, maxLines: 50000, maxPatchBytes: 204800 };

/** A patch over a tenth of diff_max_patch_bytes is shown collapsed (GitLab's safe patch limit), still expandable. */
export const GITLAB_DIFF_COLLAPSE_BYTES = GITLAB_DIFF_LIMITS.maxPatchBytes / 10;
