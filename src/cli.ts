#!/usr/bin/env node
// First: sizes V8's young generation before the other modules load (see young-generation.ts).
import './young-generation.js';
// Second: the file-checks worker boots on the other core while the rest loads (see early-file-checks.ts).
import './early-file-checks.js';
import v8 from 'node:v8';
import { helpText, parseCommandLine } from './config.js';
import { bundledFixtures } from './index.js';
import { FakelabServer } from './server.js';

/**
 * V8 lets the old generation grow to up to four times what survived the last full GC when
 * collecting is cheap, as it is for a server whose garbage is per-request. Under load that
 * is 150+ MB of RSS above the live heap (60 MB live, 250 MB heap on the 100k-commit bench).
 * Growing by half instead keeps RSS near the live set at no measured throughput cost. Only
 * the CLI does this: the library leaves its host's V8 alone. NODE_OPTIONS can override it.
 */
function limitHeapGrowth(): void {
  if (/--heap[-_]growing[-_]percent/.test(process.env.NODE_OPTIONS ?? '') || process.execArgv.some((a) => /--heap[-_]growing[-_]percent/.test(a))) return;
  v8.setFlagsFromString('--heap-growing-percent=50');
}

/**
 * The fakelab command: options from flags, FAKELAB_* variables and defaults (OPTIONS in
 * config.ts; --help lists them). An empty repos root is seeded from the bundled fixtures unless
 * --fixtures says otherwise.
 */
async function main(): Promise<void> {
  const commandLine = parseCommandLine(process.argv.slice(2));
  if (commandLine.help) {
    process.stdout.write(helpText());
    return;
  }
  const { config } = commandLine;
  config.fixturesDir ??= bundledFixtures;
  const server = new FakelabServer(config);
  await server.start();
  // Once started: the start's own allocations (10,000 projects read, the bundle compiled) would
  // otherwise trigger an extra full GC or two on the way to the first answer.
  limitHeapGrowth();
  // Set by the launcher that runs the bundled CLI (cli-launcher.ts): whether V8 took the code cache.
  const codeCache = (globalThis as Record<symbol, unknown>)[Symbol.for('fakelab.codeCache')];
  if (codeCache) server.log.debug({ codeCache }, `code cache ${codeCache}`);
  process.stdout.write(`fakelab listening on ${server.url}\n`);
  process.stdout.write(`  repositories: ${server.config.reposDir}\n  data:         ${server.config.dataDir}\n`);
  if (server.caFile) process.stdout.write(`  CA file:      ${server.caFile} (trust it: NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, git -c http.sslCAInfo=…)\n`);
  if (server.config.token) process.stdout.write(`  admin token:  ${server.config.token} (api scope)\n`);
  if (server.config.configFile) {
    // The demo's tokens are meant to be seen; a real config's are the operator's own.
    const { tokens, job_tokens } = server.access.config;
    process.stdout.write(`  access:       ${server.config.configFile}\n`);
    for (const t of tokens) process.stdout.write(`  token:        ${t.token} (${t.user}, ${t.scopes.join(' ')})\n`);
    for (const t of job_tokens) process.stdout.write(`  job token:    ${t.token} (${t.user}, ${t.project})\n`);
  }
  process.stdout.write(`  try: curl ${server.caFile ? `--cacert ${server.caFile} ` : ''}${server.url}/api/v4/projects\n`);
  // Closing the server (its connections, packs and preload) lets the process end by itself.
  const stop = () => {
    server.close().catch(() => {
      process.exitCode = 1;
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`fakelab: ${err.message}\n`);
  process.exitCode = 1;
});
