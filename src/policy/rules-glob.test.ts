import { describe, expect, it } from 'vitest';
import { globsOverlap, isCatchAll, matchGlob } from './rules-glob.js';

describe('matchGlob on paths', () => {
  it('matches a name without / at any depth, and nothing that only contains it', () => {
    for (const p of ['.env', 'a/.env', 'a/b/c/.env', './.env']) expect(matchGlob('.env', p, true), p).toBe(true);
    for (const p of ['a.env', '.env/x', '.envrc', 'x.env']) expect(matchGlob('.env', p, true), p).toBe(false);
    expect(matchGlob('.env.*', 'config/.env.production', true)).toBe(true);
    expect(matchGlob('*.pem', 'certs/server.pem', true)).toBe(true);
    expect(matchGlob('*.pem', 'certs/server.pem.txt', true)).toBe(false);
  });

  it('stops * and ? at /, lets ** cross folders, anchors patterns with /', () => {
    expect(matchGlob('src/*.ts', 'src/a.ts', true)).toBe(true);
    expect(matchGlob('src/*.ts', 'src/x/a.ts', true)).toBe(false);
    expect(matchGlob('src/**/*.ts', 'src/a.ts', true)).toBe(true);
    expect(matchGlob('src/**/*.ts', 'src/x/y/a.ts', true)).toBe(true);
    expect(matchGlob('src/**', 'src/x/y/a.ts', true)).toBe(true);
    expect(matchGlob('src/', 'src/x/a.ts', true)).toBe(true);
    expect(matchGlob('a?c', 'abc', true)).toBe(true);
    expect(matchGlob('a?c', 'a/c', true)).toBe(false);
    expect(matchGlob('/config.json', 'config.json', true)).toBe(true);
    expect(matchGlob('/config.json', 'sub/config.json', true)).toBe(false);
    expect(matchGlob('*', 'deep/ly/nested.txt', true)).toBe(true);
  });

  it('treats regex characters literally', () => {
    expect(matchGlob('a+b(1).txt', 'a+b(1).txt', true)).toBe(true);
    expect(matchGlob('a.b', 'axb', true)).toBe(false);
  });
});

describe('matchGlob on other subjects', () => {
  it('lets * match anything, / included', () => {
    expect(matchGlob('*', 'release/1.2', false)).toBe(true);
    expect(matchGlob('npm *', 'npm run build --prefix ./web', false)).toBe(true);
    expect(matchGlob('*.example.com', 'api.example.com', false)).toBe(true);
    expect(matchGlob('*.example.com', 'example.org', false)).toBe(false);
  });
});

describe('globsOverlap', () => {
  it('is true exactly when some subject matches both', () => {
    expect(globsOverlap('*', '.env', true)).toBe(true);
    expect(globsOverlap('src/**', '.env', true)).toBe(true); // src/.env
    expect(globsOverlap('/src/*.ts', '.env', true)).toBe(false);
    expect(globsOverlap('*.pem', '*.key', true)).toBe(false);
    expect(globsOverlap('*.pem', 'server.*', true)).toBe(true);
    expect(globsOverlap('docs/*.md', 'src/**', true)).toBe(false);
    expect(globsOverlap('a?c', 'a/c', false)).toBe(true);
    expect(globsOverlap('a?c', 'a/c', true)).toBe(false);
    expect(globsOverlap('main', 'release/*', false)).toBe(false);
    expect(globsOverlap('release/*', '*/1.0', false)).toBe(true);
  });

  it('agrees with matchGlob on a witness', () => {
    const pairs: Array<[string, string, string]> = [
      ['.env.*', '**/prod/*', 'x/prod/.env.local'],
      ['id_rsa*', '*.pub', 'id_rsa.pub'],
    ];
    for (const [a, b, witness] of pairs) {
      expect(matchGlob(a, witness, true) && matchGlob(b, witness, true)).toBe(true);
      expect(globsOverlap(a, b, true)).toBe(true);
    }
  });
});

describe('isCatchAll', () => {
  it('knows the patterns that match every subject', () => {
    expect(isCatchAll('*', true)).toBe(true);
    expect(isCatchAll('**', true)).toBe(true);
    expect(isCatchAll('src/**', true)).toBe(false);
    expect(isCatchAll('*', false)).toBe(true);
    expect(isCatchAll('main', false)).toBe(false);
  });
});
