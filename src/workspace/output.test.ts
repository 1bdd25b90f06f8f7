import { describe, expect, it } from 'vitest';
import { OutputCollector, truncateText } from './output.js';

describe('OutputCollector', () => {
  it('keeps everything under the limit', () => {
    const c = new OutputCollector(100);
    c.push(Buffer.from('hello '));
    c.push(Buffer.from('world'));
    expect(c.result()).toEqual({ output: 'hello world', truncated: false, totalBytes: 11 });
  });

  it('keeps head and tail across many chunks, with the omitted count', () => {
    const c = new OutputCollector(20);
    for (let i = 0; i < 1000; i++) c.push(Buffer.from(`${String(i).padStart(4, '0')}\n`));
    const r = c.result();
    expect(r.truncated).toBe(true);
    expect(r.totalBytes).toBe(5000);
    expect(r.output).toBe('0000\n0001\n\n… [4980 bytes omitted] …\n0998\n0999\n');
  });

  it('handles one huge chunk and never splits a UTF-8 character', () => {
    const r = truncateText('é'.repeat(1000), 11);
    expect(r.truncated).toBe(true);
    expect(r.output).not.toContain('\uFFFD');
    expect(r.output).toMatch(/^é+\n… \[\d+ bytes omitted\] …\né+$/);
  });
});
