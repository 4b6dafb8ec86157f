#!/usr/bin/env node
// Runs the TypeScript sources directly: `npx imslab …` works right after `npm ci`, with no build step.
// The project's tsconfig is named explicitly, so decorators compile whatever the caller's working directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli.ts');
