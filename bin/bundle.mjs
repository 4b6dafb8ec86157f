// One ESM bundle of a TypeScript entry, made by esbuild and kept in node_modules/.cache/imslab until a source
// it was made from changes. Why not tsx's on-the-fly transform, as before: tsx compiles with esbuild's
// keepNames, which wraps every function expression in __name(fn, "…") — an Object.defineProperty on each closure
// as it is made, and a property array of its own that the closure carries while it lives. A core makes and keeps
// closures per message; measured on the SIP transaction bench, keepNames cost 15–20 % of the throughput.
//
// Every module keeps its own import.meta.url (the plugin below writes it in as a literal), so paths relative
// to a source file, createRequire and "am I the main module" checks behave as they do unbundled.
import { build, version as esbuildVersion } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'imslab');
/** Bumped when the build options below change, so that older bundles are not taken for fresh ones. */
const RECIPE = 1;
/** Files that change what esbuild makes of the sources without being sources. */
const SETTINGS = ['tsconfig.json', 'package.json', 'bin/bundle.mjs'];

/** The path of a fresh bundle of `entry` (relative to the repository), made now if none is. */
export async function bundled(entry) {
  const name = entry.replace(/\.ts$/, '').replace(/[^A-Za-z0-9_-]+/g, '_');
  const out = join(CACHE, `${name}.mjs`);
  const manifestFile = join(CACHE, `${name}.json`);
  const key = { recipe: RECIPE, node: process.version, esbuild: esbuildVersion };
  if (isFresh(manifestFile, key)) return out;
  mkdirSync(CACHE, { recursive: true });
  // Several processes may start at once (a storm starts four nodes): each writes its own file and renames it
  // into place, and every one of them builds the same bytes from the same sources.
  const tmp = `${out}.${process.pid}.tmp`;
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    tsconfig: 'tsconfig.json',
    sourcemap: 'inline',
    sourcesContent: false,
    metafile: true,
    logLevel: 'error',
    // For the rare module that must know it runs bundled (fuzz/harness.ts loads targets by URL).
    define: { IMSLAB_BUNDLE: 'true' },
    plugins: [ownImportMetaUrl],
  });
  const files = [...Object.keys(result.metafile.inputs), ...SETTINGS];
  const stamps = Object.fromEntries(files.map((f) => [f, stampOf(join(ROOT, f))]));
  renameSync(tmp, out);
  writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify({ ...key, stamps }));
  renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
  return out;
}

/** Whether `err` says the cache directory cannot be written, so that the caller can do without a bundle. */
export function cacheUnwritable(err) {
  return ['EACCES', 'EPERM', 'EROFS'].includes(err?.code);
}

function isFresh(manifestFile, key) {
  try {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8'));
    if (m.recipe !== key.recipe || m.node !== key.node || m.esbuild !== key.esbuild) return false;
    for (const [f, stamp] of Object.entries(m.stamps)) if (stampOf(join(ROOT, f)) !== stamp) return false;
    return true;
  } catch {
    return false;
  }
}

function stampOf(file) {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Writes each TypeScript module's own file URL where it says import.meta.url. */
const ownImportMetaUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};
