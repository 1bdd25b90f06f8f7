import { execFile } from 'node:child_process';
import { ToolInputError } from './define.js';

/** Runs ripgrep over the clone. Exit code 1 means "no match", which is not an error. */
export function ripgrep(args: string[], cwd: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'rg',
      ['--hidden', '--glob', '!.git', '--no-config', '--color', 'never', ...args],
      { cwd, signal, maxBuffer: 16 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return reject(new Error('ripgrep (rg) is not installed. Install it: apt-get install ripgrep'));
        }
        if ((error as { code?: unknown }).code === 1) return resolve('');
        if ((error as { code?: unknown }).code === 2 && stderr) {
          return reject(new ToolInputError(`search failed: ${stderr.trim().split('\n')[0]}`));
        }
        reject(error);
      },
    );
  });
}
