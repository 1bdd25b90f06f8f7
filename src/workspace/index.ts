/** workspace/: per-run clones, branches, diffs, the sandboxed command runner, and running tests. */
export { prepareAhead, prepareWorkspace, reopenWorkspace, slugify, DEFAULT_AUTHOR, type PreparedAhead, type PrepareWorkspaceOptions } from './clone.js';
export { reopenOrReclone, type RecloneOptions } from './reclone.js';
export { mayHoldInlineTests, splitInlineTests, type InlineTestChange } from './inline-tests.js';
export { languageOf, parserFor, SYNTAX_EXTENSIONS, type SyntaxLanguage } from './syntax.js';
export { outline, type Definition } from './outline.js';
export { WorkspaceError, type WorkspaceErrorCode } from './errors.js';
export { GitWorkspace } from './git-workspace.js';
export { git, GitError, type GitOptions, type GitResult } from './git.js';
export { acquireLock, gitCommonDir, processAlive, withRepoLock } from './lock-file.js';
export {
  createSandboxRunner,
  filesToMask,
  findBwrap,
  probeBwrapFeatures,
  probeSandbox,
  SandboxUnavailableError,
  SANDBOX_UID,
  type SandboxRunner,
  type SandboxRunnerOptions,
} from './sandbox.js';
export { createPlainRunner, type PlainRunnerOptions } from './plain-runner.js';
export { startEgressProxy, hostAllowed, type EgressProxy, type EgressDecision, type EgressProxyOptions } from './egress-proxy.js';
export { allowEntries, registryHosts, type RegistryHost } from './registry-hosts.js';
export {
  cacheDaysFromEnv,
  createDependencyCache,
  dependencyKeys,
  readingCacheRunner,
  type CacheKey,
  type CacheLease,
  type CacheMounts,
  type DependencyCache,
  type Ecosystem,
  type LeaseOptions,
} from './dep-cache.js';
export { installEgressStarter, type InstallEgress } from './install-egress.js';
export { stripEnv, isSecretVariable, type Env } from './env.js';
export { detectToolchains, type ToolchainMounts } from './toolchains.js';
export { OutputCollector, truncateText, DEFAULT_MAX_OUTPUT_BYTES } from './output.js';
export { DEFAULT_MAX_PROCESSES, type ProcessLimitKind } from './process-limit.js';
export { detectTestPlan, type ConfiguredTests } from './test-detect.js';
export { parseTestOutput, type ParsedTestOutput } from './test-parse.js';
export { runTests, type RunTestsOptions } from './test-run.js';
export { mergeIntoBase, type MergeRequest, type MergeResult } from './merge.js';
