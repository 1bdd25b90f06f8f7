#!/usr/bin/env node
// Starts the CLI bundle (dist/slipway.cjs) with a V8 code cache: compiled once, then loaded in a fraction of the
// time. Node 20 caches no ES module code, so the bundle is CommonJS, compiled here through vm.Script.
//
// The cache lives in SLIPWAY_COMPILE_CACHE (a folder; `off` disables it), else $SLIPWAY_HOME/cache/compile
// (default ~/.slipway/cache/compile), one file per bundle contents, Node version, architecture and subcommand (a
// cache holds the functions its first command compiled, so `run` keeps its own). A cache that is missing,
// unreadable or rejected by V8 only costs the compile; it is written again after the command.
//
// When this build's daemon runs (`slipway daemon start`), the command goes to it instead and the bundle is not
// even loaded: see src/cli/daemon.ts. SLIPWAY_DAEMON=off, a busy daemon or one that does not answer: the command
// runs here, as it always did.
'use strict';
// CommonJS (bin/package.json says so): Node starts a CommonJS file measurably faster than an ES module, and
// this file runs on every command.
const { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');

const bundle = path.join(__dirname, '..', 'dist', 'slipway.cjs');
const argv = process.argv.slice(2);
const home = path.resolve(process.env.SLIPWAY_HOME || path.join(os.homedir(), '.slipway'));
const digest = readDigest();
const daemon = daemonLocation();
void (async () => {
  let code = null;
  if (daemon.socket && argv[0] !== 'daemon' && process.env.SLIPWAY_DAEMON !== 'off') code = await viaDaemon(daemon.socket);
  if (code === null) code = await inProcess();
  // End explicitly: keep-alive sockets of fetch would hold the process ~130 ms longer.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
})();

/** Loads the bundle (through the code cache) and runs the command in this process. */
async function inProcess() {
  let source;
  try {
    source = readFileSync(bundle, 'utf8');
  } catch {
    process.stderr.write(`error: ${bundle} is missing: Slipway is not built.\n  Run: npm run build (in ${path.dirname(path.dirname(bundle))})\n`);
    return 1;
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
  script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  const result = await module.exports.main(argv, undefined, undefined, { daemon: { ...daemon, bin: __filename } });
  if (cacheFile && (!cached || script.cachedDataRejected)) writeCache(cacheFile, script);
  return result;
}

/** Writes the cache beside older ones (which it removes), atomically; a failure only costs the next start. */
function writeCache(file, script) {
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

/** The bundle's digest (written by the build): it keys the compile cache and the daemon's socket. */
function readDigest() {
  try {
    return readFileSync(`${bundle}.sha256`, 'utf8').trim().slice(0, 16);
  } catch {
    return null;
  }
}

function cachePath() {
  const setting = process.env.SLIPWAY_COMPILE_CACHE;
  if (setting === 'off') return null;
  const dir = setting || path.join(home, 'cache', 'compile');
  // A bundle without its digest is never cached: a stale cache of the same length would be taken.
  if (!digest) return null;
  // The daemon runs runs above all: it starts from `run`'s cache, so even its first one finds compiled code.
  const command = argv[0] === 'daemon' && argv[1] === 'serve' ? 'run' : /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : 'other';
  return path.join(dir, `slipway-${digest}-${process.version}-${process.arch}-${command}.v8cache`);
}

/** Where this build's daemon listens: one socket per bundle digest, Node version and architecture. */
function daemonLocation() {
  const dir = path.join(home, 'daemon');
  if (!digest) return { dir, socket: null, reason: 'the bundle has no digest (run npm run build)' };
  const socket = path.join(dir, `${digest}-${process.version}-${process.arch}.sock`);
  // A unix socket's path holds at most 107 bytes on Linux.
  if (Buffer.byteLength(socket) > 107) return { dir, socket: null, reason: `the socket path ${socket} is longer than a unix socket allows (107 bytes): set SLIPWAY_HOME to a shorter folder` };
  return { dir, socket };
}

/**
 * Runs the command in the daemon: sends the arguments, the environment, the working folder and the umask, relays
 * its output and signals, and gives back its exit code. Null when the daemon cannot take it (none listens, it is
 * busy, its folder is not private): the command then runs here. Once the daemon has accepted, a lost daemon
 * is an error, never a second run.
 */
function viaDaemon(socket) {
  try {
    const dir = lstatSync(path.dirname(socket));
    // The environment holds API keys: send it only into a folder that is ours alone.
    if (!dir.isDirectory() || dir.uid !== process.getuid() || (dir.mode & 0o077) !== 0) return Promise.resolve(null);
    lstatSync(socket);
  } catch {
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const conn = net.connect(socket);
    let accepted = false;
    let signalled = null;
    let settled = false;
    let buffer = '';
    const settle = (code) => {
      if (settled) return;
      settled = true;
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
      resolve(code);
    };
    const forward = (signal) => {
      signalled = signal;
      conn.write(`${JSON.stringify({ type: 'signal', signal })}\n`);
    };
    conn.on('connect', () => {
      const terminal = process.stderr.isTTY ? { columns: process.stderr.columns } : null;
      conn.write(`${JSON.stringify({ type: 'command', argv, env: process.env, cwd: process.cwd(), umask: process.umask(), terminal })}\n`);
    });
    conn.setEncoding('utf8');
    conn.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        if (message.type === 'accepted') {
          accepted = true;
          for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, forward);
        } else if (message.type === 'busy') settle(null);
        else if (message.type === 'stdout') process.stdout.write(message.data);
        else if (message.type === 'stderr') process.stderr.write(message.data);
        else if (message.type === 'exit') settle(message.code);
      }
    });
    conn.on('error', () => undefined);
    conn.on('close', () => {
      if (!accepted) return settle(null);
      if (signalled) return settle(signalled === 'SIGINT' ? 130 : signalled === 'SIGHUP' ? 129 : 143);
      process.stderr.write(`error: the Slipway daemon stopped before the command finished (its log: ${path.join(path.dirname(socket), 'daemon.log')}).\n  Run the command again: it runs without the daemon until you start it again (slipway daemon start).\n`);
      settle(1);
    });
  });
}
