export { buildPolicy, Policy, type DeniedListener, type RejectedRule } from './policy.js';
export { DEFAULT_RULES, SECRET_FILE_PATTERNS, evaluateRules, loosenedRule } from './rules.js';
export { globsOverlap, matchGlob } from './rules-glob.js';
