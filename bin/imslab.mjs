#!/usr/bin/env node
// Runs the TypeScript sources: `npx imslab …` works right after `npm ci`, with no build step to remember.
// They are bundled by esbuild at start and cached until a source changes (bin/bundle.mjs says why not tsx);
// stack traces still name the .ts files and lines. Where the cache cannot be written (a read-only install),
// tsx compiles the sources as they load instead.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundled, cacheUnwritable } from './bundle.mjs';

process.setSourceMapsEnabled(true);
const bundle = await bundled('src/cli.ts').catch((err) => {
  if (cacheUnwritable(err)) return undefined;
  throw err;
});
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  await import('../src/cli.ts');
}
