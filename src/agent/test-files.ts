/** Which changed files are tests, across ecosystems. */

const TEST_PATTERNS: RegExp[] = [
  /(^|\/)(test|tests|__tests__|spec|specs)\//,
  /(^|\/)test_[^/]+\.py$/,
  /_test\.(py|go)$/,
  /\.(test|spec)\.[cm]?[jt]sx?$/,
  /(^|\/)src\/test\//, // Maven and Gradle
  /Tests?\.(java|kt|scala|cs)$/,
  /_spec\.rb$/,
  /(^|\/)tests?\.rs$/, // a Rust test module in its own file (`#[cfg(test)] mod tests;`)
];

export function isTestFile(path: string): boolean {
  return TEST_PATTERNS.some((re) => re.test(path));
}
