#!/usr/bin/env node
// Runs one TypeScript entry of this repository from its cached bundle (bin/bundle.mjs), with the arguments
// after it: `node bin/run.mjs bench/storm/load-child.ts …`. The entry's own import.meta.url is kept, so it is
// not taken for the main module by a "run when main" check; it is meant for entries that just run.
import { pathToFileURL } from 'node:url';
import { bundled } from './bundle.mjs';

const [entry] = process.argv.splice(2, 1);
if (!entry) {
  console.error('usage: node bin/run.mjs ENTRY.ts [args…]');
  process.exit(2);
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(await bundled(entry)).href);
