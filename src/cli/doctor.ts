/** `slipway doctor`: checks the prerequisites and says how to install what is missing. */
import { execFile } from 'node:child_process';
import type { Output } from './output.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

function version(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (error, stdout, stderr) => resolve(error ? null : (stdout || stderr).trim().split('\n')[0]!));
  });
}

export async function doctor(out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const { findBwrap, parserFor, probeSandbox } = await import('../workspace/index.js');
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const checks: Check[] = [
    { name: 'node', ok: nodeMajor >= 20, detail: `v${process.versions.node}`, fix: 'Install Node.js 20 or newer.' },
  ];
  const git = await version('git', ['--version']);
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(git ?? '') ?? []).slice(1).map(Number);
  const gitAt = (m: number, n: number) => major > m || (major === m && minor >= n);
  checks.push({
    name: 'git',
    ok: git !== null && gitAt(2, 20),
    detail: git === null ? 'not found' : gitAt(2, 32) ? git : `${git}${gitAt(2, 20) ? ' (2.32 or newer checks clones out in parallel: faster on large repositories)' : ', older than 2.20'}`,
    fix: 'sudo apt-get install git (2.20 or newer)',
  });
  const rg = await version('rg', ['--version']);
  checks.push({ name: 'ripgrep', ok: rg !== null, detail: rg ?? 'not found', fix: 'sudo apt-get install ripgrep' });
  const bwrap = findBwrap(env);
  if (!bwrap) {
    checks.push({ name: 'bubblewrap', ok: false, detail: 'not found', fix: 'sudo apt-get install bubblewrap' });
  } else {
    const probe = await probeSandbox(env);
    checks.push({
      name: 'bubblewrap',
      ok: probe.ok,
      detail: probe.ok ? `${bwrap} (a test command ran in the sandbox)` : `${bwrap} is installed but cannot start a sandbox: ${probe.detail}`,
      fix: 'Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or run in a VM/container that permits them.',
    });
  }
  // The parsers behind outline and the proof of Rust unit tests: WebAssembly files in node_modules.
  const parsers = await parserFor('rust').then(
    () => null,
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  checks.push({
    name: 'parsers',
    ok: parsers === null,
    detail: parsers === null ? 'tree-sitter grammars load' : `tree-sitter grammars do not load: ${parsers}`,
    fix: 'Reinstall Slipway\'s dependencies (npm ci in its folder).',
  });
  for (const c of checks) out.stdout(`${c.ok ? '✓' : '✗'} ${c.name.padEnd(11)} ${c.detail}${c.ok || !c.fix ? '' : `\n    fix: ${c.fix}`}`);
  const failed = checks.filter((c) => !c.ok);
  out.stdout(failed.length ? `${failed.length} problem(s): fix them, then run slipway doctor again.` : 'All prerequisites are in place.');
  return failed.length ? 1 : 0;
}
