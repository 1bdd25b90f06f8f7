import { describe, expect, it } from 'vitest';
import { mayHoldInlineTests, splitInlineTests } from './inline-tests.js';

const CODE = `//! Words, counted — «even» here.
/// The number of words in \`text\`.
pub fn word_count(text: &str) -> usize {
    text.split(' ').count()
}

fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    let _brace = "}"; /* a /* nested */ comment with } */
    if a.len() >= b.len() { a } else { b }
}
`;

const TESTS = `#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words() {
        assert_eq!(word_count("a b"), 2);
    }
}
`;

const NEW_TEST = `
    #[test]
    fn ignores_repeated_spaces() {
        assert_eq!(word_count("  a   b "), 2);
    }
`;

const FIXED = CODE.replace("text.split(' ').count()", 'text.split_whitespace().count()');
const withNewTest = (tests: string) => tests.replace('    }\n}\n', `    }\n${NEW_TEST}}\n`);

describe('splitInlineTests (Rust, parsed by tree-sitter)', () => {
  it('gives the base code with the change\'s tests when both changed', async () => {
    const result = await splitInlineTests(`${CODE}\n${TESTS}`, `${FIXED}\n${withNewTest(TESTS)}`);
    expect(result).toEqual({ kind: 'split', content: `${CODE}\n${withNewTest(TESTS)}` });
  });

  it('appends a test module the base commit did not have', async () => {
    const result = await splitInlineTests(CODE, `${FIXED}\n${TESTS}`);
    expect(result).toEqual({ kind: 'split', content: `${CODE}\n${TESTS}` });
  });

  it('takes the whole file when only tests changed, and nothing when only code changed', async () => {
    expect(await splitInlineTests(`${CODE}\n${TESTS}`, `${CODE}\n\n${withNewTest(TESTS)}`)).toEqual({ kind: 'tests-only' });
    expect(await splitInlineTests(`${CODE}\n${TESTS}`, `${FIXED}\n${TESTS}`)).toEqual({ kind: 'code-only' });
    expect(await splitInlineTests(null, `${FIXED}\n${TESTS}`)).toEqual({ kind: 'code-only' });
  });

  it('replaces a test module nested in another module, and drops one the change removed', async () => {
    const nested = (body: string, tests: string) => `pub mod text {\n${body}\n${tests}}\n`;
    const base = `${nested(CODE, TESTS)}\n#[cfg(all(test, feature = "slow"))]\nmod slow_tests {\n    #[test]\n    fn slow() {}\n}\n`;
    const changed = nested(FIXED, withNewTest(TESTS));
    const result = await splitInlineTests(base, changed);
    expect(result).toEqual({ kind: 'split', content: `${nested(CODE, withNewTest(TESTS))}\n\n` });
  });

  it('cannot split a file that does not parse, or a new test module inside a module without tests', async () => {
    expect(await splitInlineTests(`${CODE}\n${TESTS}`, `${FIXED}\nfn broken( {\n${withNewTest(TESTS)}`)).toMatchObject({ kind: 'unsplittable', reason: expect.stringMatching(/does not parse/) });
    const result = await splitInlineTests(`pub mod text {\n${CODE}}\n`, `pub mod text {\n${FIXED}\n${TESTS}}\n`);
    expect(result).toMatchObject({ kind: 'unsplittable', reason: expect.stringMatching(/new test code tests sits inside module text/) });
  });

  it('counts any item gated on cfg(test), and #[test] functions, as test code; cfg(not(test)) is code', async () => {
    const helper = '#[cfg(test)]\nfn sample() -> &\'static str {\n    "a  b"\n}\n';
    const loose = '#[test]\nfn loose() {\n    assert_eq!(word_count(sample()), 2);\n}\n';
    const notTest = '#[cfg(not(test))]\nfn only_outside_tests() {}\n';
    const result = await splitInlineTests(`${CODE}\n${notTest}`, `${FIXED}\n${notTest.replace('{}', '{ }')}\n${helper}\n${loose}`);
    expect(result).toEqual({ kind: 'split', content: `${CODE}\n${notTest}\n${helper}\n${loose}` });
  });

  it('looks only at Rust files', () => {
    expect(mayHoldInlineTests('src/lib.rs')).toBe(true);
    expect(mayHoldInlineTests('src/lib.py')).toBe(false);
  });
});
