export * from './model.js';
export * from './tests.js';
export * from './workspace.js';
export * from './run.js';
export * from './store.js';
export * from './ids.js';
export * from './config.js';
export * from './policy.js';
