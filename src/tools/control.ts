/** Tools that end a conversation: the loop stops when one is called with valid input. */
import { z } from 'zod';
import { defineTool } from './define.js';
import finishDescription from './finish.md?raw';
import planDescription from './submit-plan.md?raw';
import verdictDescription from './submit-verdict.md?raw';

const accepted = async () => ({ forModel: 'Received.', display: 'submitted' });

export const finishParams = z.object({
  summary: z.string().min(1).describe('What you changed and why'),
  no_test_reason: z.string().optional().describe('Only when no test can show the change: why'),
});

export const finishTool = defineTool({
  name: 'finish',
  kind: 'control',
  description: finishDescription,
  params: finishParams,
  execute: accepted,
});

export const planParams = z.object({
  summary: z.string().min(1).describe('One paragraph: what will change and why'),
  steps: z.array(z.string().min(1)).min(1).describe('Concrete steps'),
  acceptance: z.array(z.string().min(1)).min(1).describe('Checks that say when the goal is met'),
});

export const submitPlanTool = defineTool({
  name: 'submit_plan',
  kind: 'control',
  description: planDescription,
  params: planParams,
  execute: accepted,
});

export const verdictParams = z.object({
  verdict: z.enum(['pass', 'fail']),
  findings: z
    .array(
      z.object({
        check: z.string().min(1),
        verdict: z.enum(['pass', 'fail']),
        evidence: z.string().min(1),
      }),
    )
    .min(1),
});

export const submitVerdictTool = defineTool({
  name: 'submit_verdict',
  kind: 'control',
  description: verdictDescription,
  params: verdictParams,
  execute: accepted,
});
