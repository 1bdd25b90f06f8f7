import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Short, unique, prefixed ids: `r-…` for runs, `pr-…` for pull requests, `g-…` for gates, so they never collide. */
export function newId(prefix: 'r' | 'pr' | 'g'): string {
  const bytes = randomBytes(8);
  let out = '';
  for (let i = 0; i < 8; i++) out += ALPHABET[bytes[i]! % ALPHABET.length];
  return `${prefix}-${out}`;
}
