import { describe, expect, it } from 'vitest';
import { describeHinted, HintedError } from './errors.js';

describe('describeHinted', () => {
  it('gives the message and the hint, the hint once, and a plain error its message alone', () => {
    expect(describeHinted(new HintedError('The repository is missing.', 'Pass --repo.'))).toEqual({ message: 'The repository is missing.', hint: 'Pass --repo.' });
    // A message that already ends with its hint (the store's are written that way) is printed as it is.
    expect(describeHinted(new HintedError('The store is locked. Wait for the other run.', 'Wait for the other run.'))).toEqual({ message: 'The store is locked. Wait for the other run.' });
    expect(describeHinted(new Error('boom'))).toEqual({ message: 'boom' });
    expect(describeHinted('a thrown string')).toEqual({ message: 'a thrown string' });
    expect(describeHinted(Object.assign(new Error('bwrap is missing.'), { hint: 'Install bubblewrap.' }))).toEqual({ message: 'bwrap is missing.', hint: 'Install bubblewrap.' });
  });
});
