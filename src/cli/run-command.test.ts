import { describe, expect, it } from 'vitest';
import { UsageError } from './home.js';
import { DEFAULT_WAIT_SECONDS, parseWait } from './run-command.js';

describe('--wait', () => {
  it('reads seconds, minutes and hours, and a bare flag as the default', () => {
    expect(parseWait(undefined)).toBeUndefined();
    expect(parseWait(true)).toBe(DEFAULT_WAIT_SECONDS * 1000);
    expect(parseWait('90')).toBe(90_000);
    expect(parseWait('90s')).toBe(90_000);
    expect(parseWait('15m')).toBe(900_000);
    expect(parseWait('2h')).toBe(7_200_000);
    expect(parseWait('0.5m')).toBe(30_000);
  });

  it('refuses what is not a duration, saying what it takes', () => {
    for (const bad of ['soon', '0', '-5s', '10d', '']) {
      expect(() => parseWait(bad)).toThrow(UsageError);
      expect(() => parseWait(bad)).toThrow(/--wait takes a duration such as 90s, 15m or 2h/);
    }
  });
});
