import { main } from './main.js';

const code = await main(process.argv.slice(2));
// End explicitly: keep-alive sockets of fetch would hold the process ~130 ms longer.
process.exitCode = code;
setImmediate(() => process.exit(code));
