/**
 * `npm run build`'s second step: replaces dist/src/cli.js (tsc's) with one file holding it and
 * every module it imports, so that `fakelab` starts without Node resolving, reading and linking
 * some 300 modules one by one (issue 17: start-up under 0.5 s; see the README's start-up figures).
 * dist/src keeps tsc's modules: the library (dist/src/index.js) and the tests use those.
 *
 * What is loaded on demand stays out of the file: isomorphic-git and selfsigned (dynamic
 * imports) and lazyModule()'s packages (src/util/lazy-module.ts), loaded from node_modules
 * when first needed. Without esbuild (a devDependency) installed, cli.js stays tsc's.
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

const bundled = path.join(distSrc, '.cli.bundle.js');
await esbuild.build({
  entryPoints: [entry],
  outfile: bundled,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['isomorphic-git', 'selfsigned'],
  // The CommonJS packages inside (express and its dependencies) call require() for Node's own modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  sourcemap: 'linked',
  // V8 parses the whole file at every start: without comments and blank space (names kept, so
  // stack traces still read) 1.7 MB instead of 2.4, 12 ms sooner to the server's own code.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [ownModuleUrls],
  logLevel: 'warning',
});
// The shebang of cli.ts is kept by esbuild; the file's mode too, for `npx fakelab` and bin links.
fs.renameSync(`${bundled}.map`, `${entry}.map`);
const text = fs.readFileSync(bundled, 'utf8').replace(/\/\/# sourceMappingURL=\.cli\.bundle\.js\.map\s*$/, '//# sourceMappingURL=cli.js.map\n');
fs.writeFileSync(bundled, text, { mode: 0o755 });
fs.renameSync(bundled, entry);
