// Bundles the CLI into dist/ (fast start: one file to load, heavy modules split out and loaded on demand).
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';

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

// Start clean: stale split chunks would otherwise pile up in dist/chunks.
await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  // Less source to parse: ESM compile time dominates start-up.
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [rawText],
  external: ['better-sqlite3'],
  // Some bundled CommonJS dependencies call require(); give ESM output a real one.
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
  define: { SLIPWAY_VERSION: JSON.stringify(pkg.version) },
};

await build({
  ...common,
  entryPoints: { cli: 'src/cli/entry.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

// The HTTP-level model fake, for benchmarks that run the built CLI against it.
await build({ ...common, entryPoints: { 'llm-server': 'test/support/llm-server.ts' }, outdir: 'dist/support' });
