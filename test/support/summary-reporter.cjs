'use strict';
// Mocha's spec output, plus test-results.json with the real counts, from which .ci/run
// prints its one-line summary.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending, tests } = runner.stats;
      const file = process.env.FAKELAB_TEST_RESULTS || path.resolve('test-results.json');
      fs.writeFileSync(file, JSON.stringify({ passed: passes, failed: failures, skipped: pending, total: tests }) + '\n');
    });
  }
}

module.exports = SummaryReporter;
