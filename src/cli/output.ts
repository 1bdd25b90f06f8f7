/** Where commands print: injectable so the CLI's own tests can capture it in-process, and the daemon can send it to its client. */
export interface Output {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Raw text without a line end, for progress that redraws its line on a terminal; defaults to whole lines. */
  write?(stream: 'stdout' | 'stderr', text: string): void;
  /** The terminal that stderr goes to, if it is one: live progress redraws one line there. */
  terminal?: { columns?: number } | null;
  /**
   * Takes work the command need not finish before its user has the answer (a finished run's clone moved aside,
   * the store closed): the daemon replies first and finishes it before its next command. Absent, the command
   * waits for it itself (see afterAnswer).
   */
  later?(work: Promise<unknown>): void;
}

/** Hands `work` to `out.later`, or waits for it here when the output takes none. */
export async function afterAnswer(out: Output, work: Promise<unknown>): Promise<void> {
  if (out.later) out.later(work);
  else await work;
}

export const processOutput: Output = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
  get terminal() {
    return process.stderr.isTTY ? { columns: process.stderr.columns } : null;
  },
};

/** Writes raw text to one of `out`'s streams; an Output without `write` gets whole lines (and no terminal, so no redraws). */
export function writer(out: Output, stream: 'stdout' | 'stderr'): (text: string) => void {
  if (out.write) return (text) => out.write?.(stream, text);
  let pending = '';
  return (text) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) out[stream](line);
  };
}
