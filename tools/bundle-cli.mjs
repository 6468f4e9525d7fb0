/**
 * `npm run build`'s third step: bundles dist/src/cli.js (tsc's) and every module it imports into
 * dist/src/cli.bundle.cjs, so that `fakelab` starts without Node resolving, reading and linking
 * some 300 modules one by one (issue 17: start-up under 0.5 s; see the README's start-up figures),
 * and makes cli.js the launcher that runs it (src/cli-launcher.ts) with the V8 code cache that
 * the next step (tools/train-code-cache.mjs) writes.
 * dist/src keeps tsc's other modules: the library (dist/src/index.js) and the tests use those.
 *
 * What is loaded on demand stays out of the file: lazyModule()'s packages (src/util/lazy-module.ts:
 * isomorphic-git, selfsigned, YAML, archives), required from node_modules when first needed. The
 * bundle must not use import(): the launcher runs it without a dynamic import hook. Without
 * esbuild (a devDependency) installed, cli.js stays tsc's and there is no bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const distSrc = fileURLToPath(new URL('../dist/src/', import.meta.url));
const entry = path.join(distSrc, 'cli.js');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle-cli: esbuild is not installed (npm install): dist/src/cli.js stays unbundled\n');
  process.exit(0);
}

/**
 * A module of dist/src that finds a file beside itself (new URL('./x.js', import.meta.url)) finds
 * it from its own place in dist/src, not from cli.js's: its import.meta.url is rewritten to
 * the URL it had.
 */
const ownModuleUrls = {
  name: 'own-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!args.path.startsWith(distSrc) || args.path === entry || !text.includes('import.meta.url')) return undefined;
      const relative = `./${path.relative(distSrc, args.path).split(path.sep).join('/')}`;
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`), loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

const bundled = path.join(distSrc, 'cli.bundle.cjs');
const launcher = path.join(distSrc, 'cli-launcher.js');
// A cache of an earlier bundle must not outlive it (the launcher would find it stale anyway).
fs.rmSync(path.join(distSrc, 'cli.bundle.cache'), { force: true });
await esbuild.build({
  entryPoints: [entry],
  outfile: bundled,
  bundle: true,
  platform: 'node',
  // CommonJS, which node:vm compiles with a code cache (tools/train-code-cache.mjs, cli-launcher.ts);
  // an ES module it cannot. import.meta.url is then the URL cli.js had.
  format: 'cjs',
  define: { 'import.meta.url': '__fakelabCliUrl' },
  banner: { js: "var __fakelabCliUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, 'cli.js')).href;" },
  target: 'node20',
  external: ['isomorphic-git', 'selfsigned'],
  sourcemap: 'linked',
  // V8 parses the whole file at a start without the cache: without comments and blank space (names
  // kept, so stack traces still read) 1.7 MB instead of 2.4, 12 ms sooner to the server's own code.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [ownModuleUrls],
  logLevel: 'warning',
});
// cli.js becomes the launcher, which runs the bundle (executable, for `npx fakelab` and bin links;
// its source map is still cli-launcher.js.map). tsc's cli.js map goes with tsc's cli.js.
fs.copyFileSync(launcher, entry);
fs.chmodSync(entry, 0o755);
fs.rmSync(`${entry}.map`, { force: true });
