/** The model layer: one ModelClient interface (src/protocol/model.ts) over vendors, scripts and recordings. */
export { createModelClient, validSpecForms, type CreateModelClientOptions } from './create.js';
export { lookupModel, priceUsage, defaultContextWindow, type CatalogEntry, type ModelPrice } from './catalog.js';
export { loadRecording, withRecording, type RecordedExchange } from './recording.js';
export type { RetryInfo } from './retry.js';
export { scriptFileSchema, scriptTurnSchema, estimateTokens, type ScriptFile, type ScriptTurn, type ScriptToolCall } from './script-turn.js';
