#!/usr/bin/env node
// The swarmflow CLI: the compiled JavaScript in dist/, rebuilt first when the sources are newer.
import { ensureBuilt } from '../scripts/build.mjs';

ensureBuilt((line) => process.stderr.write(`swarmflow: ${line}\n`));
// A build output, not a source: typechecking must not depend on a build being there.
const cli = '../dist/client/cli.js';
const { main } = /** @type {{ main: () => Promise<number> }} */ (await import(cli));
process.exitCode = await main();
