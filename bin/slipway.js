#!/usr/bin/env node
// Starts the CLI bundle (dist/slipway.cjs) with a V8 code cache: compiled once, then loaded in a fraction of the
// time. Node 20 caches no ES module code, so the bundle is CommonJS, compiled here through vm.Script.
//
// The cache lives in SLIPWAY_COMPILE_CACHE (a folder; `off` disables it), else $SLIPWAY_HOME/cache/compile
// (default ~/.slipway/cache/compile), one file per bundle contents, Node version, architecture and subcommand (a
// cache holds the functions its first command compiled, so `run` keeps its own). A cache that is missing,
// unreadable or rejected by V8 only costs the compile; it is written again after the command.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/slipway.cjs', import.meta.url));
let source;
try {
  source = readFileSync(bundle, 'utf8');
} catch {
  process.stderr.write(`error: ${bundle} is missing: Slipway is not built.\n  Run: npm run build (in ${path.dirname(path.dirname(bundle))})\n`);
  process.exit(1);
}

const cacheFile = cachePath();
let cached;
try {
  if (cacheFile) cached = readFileSync(cacheFile);
} catch {
  // no cache yet
}
const script = new vm.Script(Module.wrap(source), { filename: bundle, ...(cached ? { cachedData: cached } : {}) });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle));

const code = await module.exports.main(process.argv.slice(2));
if (cacheFile && (!cached || script.cachedDataRejected)) writeCache(cacheFile);
// End explicitly: keep-alive sockets of fetch would hold the process ~130 ms longer.
process.exitCode = code;
setImmediate(() => process.exit(code));

function cachePath() {
  const setting = process.env.SLIPWAY_COMPILE_CACHE;
  if (setting === 'off') return null;
  const home = process.env.SLIPWAY_HOME || path.join(os.homedir(), '.slipway');
  const dir = setting || path.join(home, 'cache', 'compile');
  let digest;
  try {
    digest = readFileSync(`${bundle}.sha256`, 'utf8').trim().slice(0, 16);
  } catch {
    return null; // a bundle without its digest is never cached: a stale cache of the same length would be taken
  }
  const command = /^[a-z][a-z-]{0,15}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other';
  return path.join(dir, `slipway-${digest}-${process.version}-${process.arch}-${command}.v8cache`);
}

/** Writes the cache beside older ones (which it removes), atomically; a failure only costs the next start. */
function writeCache(file) {
  try {
    const dir = path.dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
    renameSync(temp, file);
    for (const name of readdirSync(dir)) {
      // Caches of earlier builds go; those of this build's other commands stay.
      if (name.startsWith('slipway-') && name.endsWith('.v8cache') && !name.startsWith(path.basename(file).split(`-${process.version}`)[0])) {
        rmSync(path.join(dir, name), { force: true });
      }
    }
  } catch {
    // read-only home, full disk: the next start compiles again
  }
}
