export * from './define.js';
export * from './paths.js';
export { mayShow, requireAllowed } from './policy-guard.js';
export { readFileTool } from './read-file.js';
export { outlineTool } from './outline.js';
export { listFilesTool } from './list-files.js';
export { searchTool } from './search.js';
export { editFileTool } from './edit-file.js';
export { writeFileTool } from './write-file.js';
export { shellTool } from './shell.js';
export { runTestsTool } from './run-tests.js';
export { requestNetworkTool } from './request-network.js';
export * from './control.js';

import { readFileTool } from './read-file.js';
import { outlineTool } from './outline.js';
import { listFilesTool } from './list-files.js';
import { searchTool } from './search.js';
import { editFileTool } from './edit-file.js';
import { writeFileTool } from './write-file.js';
import { shellTool } from './shell.js';
import { runTestsTool } from './run-tests.js';
import { requestNetworkTool } from './request-network.js';
import { finishTool, submitPlanTool, submitVerdictTool } from './control.js';

export const READ_TOOLS = [readFileTool, outlineTool, listFilesTool, searchTool];
export const PLANNER_TOOLS = [...READ_TOOLS, submitPlanTool];
export const CODER_TOOLS = [...READ_TOOLS, editFileTool, writeFileTool, shellTool, requestNetworkTool, runTestsTool, finishTool];
export const VERIFIER_TOOLS = [...READ_TOOLS, submitVerdictTool];
