import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlainRunner } from './plain-runner.js';
import { describeRunnerContract } from './runner-contract.js';
import { createSandboxRunner } from './sandbox.js';

const env = { ...process.env, FAKE_API_KEY: 'sk-canary' };
const home = join(tmpdir(), 'slipway-contract-home');

describeRunnerContract('bubblewrap', (dir) => createSandboxRunner({ writableDirs: [dir], home, env }));
describeRunnerContract('plain', (dir) => createPlainRunner({ writableDirs: [dir], home, env }));
