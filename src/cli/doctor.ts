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
  const { findBwrap, probeSandbox } = await import('../workspace/index.js');
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const checks: Check[] = [
    { name: 'node', ok: nodeMajor >= 20, detail: `v${process.versions.node}`, fix: 'Install Node.js 20 or newer.' },
  ];
  const git = await version('git', ['--version']);
  checks.push({ name: 'git', ok: git !== null, detail: git ?? 'not found', fix: 'sudo apt-get install git' });
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
  for (const c of checks) out.stdout(`${c.ok ? '✓' : '✗'} ${c.name.padEnd(11)} ${c.detail}${c.ok || !c.fix ? '' : `\n    fix: ${c.fix}`}`);
  const failed = checks.filter((c) => !c.ok);
  out.stdout(failed.length ? `${failed.length} problem(s): fix them, then run slipway doctor again.` : 'All prerequisites are in place.');
  return failed.length ? 1 : 0;
}
