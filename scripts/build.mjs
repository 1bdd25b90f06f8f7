// Bundles the CLI into dist/slipway.cjs (one file, minified, loaded with a V8 code cache by bin/slipway.js).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

/** Tool descriptions are `.md?raw` imports, as vite resolves them: load them as text. */
const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, async (args) => {
      const resolved = await b.resolve(args.path.slice(0, -4), { resolveDir: args.resolveDir, kind: args.kind });
      return { path: resolved.path, namespace: 'raw-text' };
    });
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
    }));
  },
};

// Start clean: stale files would otherwise pile up in dist/.
await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Less source to parse: compile time dominates start-up.
  // SLIPWAY_NO_MINIFY=1 keeps names readable, for CPU profiles (node --cpu-prof bin/slipway.js ...).
  minify: !process.env.SLIPWAY_NO_MINIFY,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [rawText],
  external: ['better-sqlite3'],
  define: { SLIPWAY_VERSION: JSON.stringify(pkg.version) },
};

// The CLI is one CommonJS file that bin/slipway.js compiles through vm.Script, so V8 can keep a code cache of it
// (Node 20 has no compile cache for ES modules; see "Performance" in README.md).
await build({
  ...common,
  format: 'cjs',
  entryPoints: { slipway: 'src/cli/main.ts' },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist',
  banner: { js: "var __slipwayImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { ...common.define, 'import.meta.url': '__slipwayImportMetaUrl' },
});
// The code cache is keyed by the bundle's contents: V8 itself checks little more than the source's length.
const bundle = await readFile(new URL('../dist/slipway.cjs', import.meta.url));
await writeFile(new URL('../dist/slipway.cjs.sha256', import.meta.url), `${createHash('sha256').update(bundle).digest('hex')}\n`);

// The HTTP-level model fake, for benchmarks that run the built CLI against it.
await build({
  ...common,
  format: 'esm',
  // Some bundled CommonJS dependencies call require(); give ESM output a real one.
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
  entryPoints: { 'llm-server': 'test/support/llm-server.ts' },
  outdir: 'dist/support',
});
