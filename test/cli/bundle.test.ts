import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM module of bin/ with no type declarations.
import { bundled } from '../../bin/bundle.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const bundle = bundled as (entry: string) => Promise<string>;

describe('bin/bundle.mjs: the sources as one cached bundle', () => {
  const dir = join(ROOT, 'test', `.bundle-${process.pid}`);
  const made: string[] = [];
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const f of made.splice(0)) for (const ext of ['.mjs', '.json']) rmSync(f.replace(/\.mjs$/, ext), { force: true });
  });

  function write(file: string, text: string, mtime?: number): void {
    writeFileSync(join(dir, file), text);
    if (mtime !== undefined) utimesSync(join(dir, file), mtime, mtime);
  }

  it('keeps each module its own import.meta.url, says it is bundled, and is rebuilt when a source changes', async () => {
    mkdirSync(dir, { recursive: true });
    write('dep.ts', `export const where: string = import.meta.url;\nexport const version = 1;\n`, 1_000);
    write('entry.ts', `import { where, version } from './dep.js';\ndeclare const IMSLAB_BUNDLE: boolean | undefined;\nexport default { where, version, here: import.meta.url, bundled: typeof IMSLAB_BUNDLE !== 'undefined' };\n`);
    const entry = relative(ROOT, join(dir, 'entry.ts'));
    const out = await bundle(entry);
    made.push(out);
    expect(out.startsWith(join(ROOT, 'node_modules', '.cache', 'imslab'))).toBe(true);
    const first = (await import(`${pathToFileURL(out).href}?1`)).default;
    expect(first).toEqual({ where: pathToFileURL(join(dir, 'dep.ts')).href, version: 1, here: pathToFileURL(join(dir, 'entry.ts')).href, bundled: true });
    // Unchanged sources: the same file, not rebuilt.
    const before = readFileSync(out, 'utf8');
    expect(await bundle(entry)).toBe(out);
    expect(readFileSync(out, 'utf8')).toBe(before);
    // A changed dependency (new size and time) makes a new bundle.
    write('dep.ts', `export const where: string = import.meta.url;\nexport const version = 22;\n`, 2_000);
    await bundle(entry);
    expect((await import(`${pathToFileURL(out).href}?2`)).default.version).toBe(22);
  });

  it('fails on a syntax error in a source, naming the file', async () => {
    mkdirSync(dir, { recursive: true });
    write('broken.ts', 'export const x = ;\n');
    await expect(bundle(relative(ROOT, join(dir, 'broken.ts')))).rejects.toThrow(/broken\.ts/);
  });
});
