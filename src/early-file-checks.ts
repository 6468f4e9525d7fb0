/**
 * The CLI's second import: boots the file-checks worker (see git/file-checks.ts) while the rest
 * of the CLI loads. Booted when the first repository is opened instead, its 30-40 ms boot sat
 * in front of the pack index's and commit-graph's checks, which every heavy first question
 * waits for; loading the CLI leaves the other core idle. A worker nothing is asked of ends
 * after its idle time, and never keeps the process alive.
 */
import { fileChecks } from './git/index.js';

fileChecks.warm();
