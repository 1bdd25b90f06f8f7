import { describe, expect, it } from 'vitest';
import { patchedPaths, resolveRepo } from './repo.js';

describe('patchedPaths', () => {
  it('lists modified, added, deleted and renamed files of a git diff', () => {
    const patch = [
      'diff --git a/tests/test_a.py b/tests/test_a.py',
      '--- a/tests/test_a.py',
      '+++ b/tests/test_a.py',
      '@@ -1 +1 @@',
      'diff --git a/tests/new_test.go b/tests/new_test.go',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/tests/new_test.go',
      'diff --git a/old.js b/new.js',
      'similarity index 90%',
      'rename from old.js',
      'rename to new.js',
    ].join('\n');
    expect(patchedPaths(patch)).toEqual(['tests/test_a.py', 'tests/new_test.go', 'old.js', 'new.js']);
  });

  it('reads a plain unified diff with timestamps', () => {
    expect(patchedPaths('--- a/x.py\t2024-01-01\n+++ b/x.py\t2024-01-02\n@@ -1 +1 @@\n')).toEqual(['x.py']);
  });
});

describe('resolveRepo', () => {
  it('keeps URLs, resolves paths from the instances folder, and maps owner/name to GitHub', () => {
    expect(resolveRepo('https://example.com/a/b.git', '/data')).toBe('https://example.com/a/b.git');
    expect(resolveRepo('git@example.com:a/b.git', '/data')).toBe('git@example.com:a/b.git');
    expect(resolveRepo('./repos/calc', '/data')).toBe('/data/repos/calc');
    expect(resolveRepo('/abs/repo', '/data')).toBe('/abs/repo');
    expect(resolveRepo('astropy/astropy', '/nonexistent-dir')).toBe('https://github.com/astropy/astropy.git');
  });
});
