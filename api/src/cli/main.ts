import { processIo } from './io.ts';
import { runCli } from './run.ts';

// The entry of `redred` (api/bin/redred.mjs, `npm run redred --`): everything else is in run.ts.
process.exitCode = await runCli(process.argv.slice(2), processIo());
