/**
 * fakelab with thousands of projects (issue 17):
 *
 *   npm run bench:scale                                   (10,000 projects)
 *   node dist/bench/project-scale.js --projects 1000 --samples 10 --starts 2
 *
 * Generates (once; cached in bench/.cache/projects-<N>) a repos root of N one-commit projects in
 * 100 groups, then measures start-up (spawn → listening, spawn → the first GET /projects
 * answered; first start and restart), GET /projects pages and GET /projects/:id (each sample a
 * different page, id or path; every answer checked), and the server's memory, each against the
 * issue's target. Prints a table and writes bench/.cache/scale-results.json.
 */
import path from 'node:path';
import { CACHE_DIR, log, runBench } from './lib/harness.js';
import { measureProjectScale, parseScaleOptions, renderScale, SCALE_USAGE } from './lib/project-scale.js';
import { writeJsonReport } from './lib/report.js';

const RESULTS_FILE = path.join(CACHE_DIR, 'scale-results.json');

runBench(parseScaleOptions, SCALE_USAGE, async (options) => {
  const result = await measureProjectScale(options);
  await writeJsonReport(RESULTS_FILE, result);
  process.stdout.write(`\n${renderScale(result)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return 0;
});
