/**
 * The corpus of one fuzz run: the same sources in the same order on every run with the same options, so that
 * an input is reproducible from (seed, target, index). Its fingerprint goes into every finding's .txt.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { CorpusKind } from '../types.js';
import { diameterSeeds } from './diameter.js';
import { deriveSdp, deriveUris, loadShippedSipSeeds, loadTortureMessages } from './sip.js';
import { fileURLToPath } from 'node:url';

/**
 * Where the RFC 4475 torture messages are looked for when the caller names no directory: IMSLAB_RFC4475_DIR,
 * else the published vectors beside the checkout or in the lab's shared directory. Absent is fine: the shipped seeds are enough to run.
 */
export function defaultTortureDir(): string | undefined {
  const fromEnv = process.env.IMSLAB_RFC4475_DIR;
  if (fromEnv) return fromEnv;
  // ../shared/vectors beside the checkout (how CI lays it out), else the lab's shared directory.
  const beside = fileURLToPath(new URL('../../../shared/vectors/rfc4475', import.meta.url));
  for (const dir of [beside, '/work/shared/vectors/rfc4475']) if (existsSync(dir)) return dir;
  return undefined;
}

export interface CorpusOptions {
  /** Directory of RFC 4475 .dat files; undefined or missing = none. */
  tortureDir?: string;
  /** Captured traffic: imslab JSON traces (`imslab run --trace`), .sip/.dat/.txt files, .bin/.diameter files, or directories of them. */
  extra?: readonly string[];
}

export interface Corpus {
  sip: Buffer[];
  uri: Buffer[];
  sdp: Buffer[];
  diameter: Buffer[];
  /** One line per source, for the report. */
  sources: string[];
  fingerprint: string;
}

export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusError';
  }
}

export function loadCorpus(options: CorpusOptions = {}): Corpus {
  const shipped = loadShippedSipSeeds();
  const torture = loadTortureMessages(options.tortureDir);
  const sip = [...shipped, ...torture];
  const diameter = diameterSeeds();
  const sources = [`${shipped.length} shipped SIP seeds (fuzz/seeds/sip)`, `${diameter.length} Diameter seeds encoded by src/diameter/cx`];
  if (torture.length) sources.push(`${torture.length} RFC 4475 messages from ${options.tortureDir}`);
  for (const path of options.extra ?? []) {
    const before = [sip.length, diameter.length];
    addExtra(path, sip, diameter);
    sources.push(`${sip.length - before[0]!} SIP and ${diameter.length - before[1]!} Diameter messages from ${path}`);
  }
  const uri = deriveUris(sip);
  const sdp = deriveSdp(sip);
  const h = createHash('sha256');
  for (const kind of [sip, uri, sdp, diameter]) {
    h.update(String(kind.length));
    for (const b of kind) h.update(b);
  }
  return { sip, uri, sdp, diameter, sources, fingerprint: h.digest('hex').slice(0, 16) };
}

export function corpusOf(c: Corpus, kind: CorpusKind): Buffer[] {
  return c[kind];
}

function addExtra(path: string, sip: Buffer[], diameter: Buffer[]): void {
  if (!existsSync(path)) throw new CorpusError(`corpus ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    for (const f of readdirSync(path).sort()) {
      const full = join(path, f);
      if (statSync(full).isFile()) addExtra(full, sip, diameter);
    }
    return;
  }
  const ext = extname(path).toLowerCase();
  const bytes = readFileSync(path);
  if (ext === '.json') {
    addTrace(path, bytes, sip, diameter);
    return;
  }
  if (looksLikeDiameter(bytes)) diameter.push(bytes);
  else if (bytes.length > 0) sip.push(bytes);
}

/** Packets of an imslab JSON trace (src/trace/json-trace.ts): each SIP and Diameter packet is a seed, once. */
function addTrace(path: string, bytes: Buffer, sip: Buffer[], diameter: Buffer[]): void {
  let trace: unknown;
  try {
    trace = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new CorpusError(`${path}: not JSON (${(e as Error).message})`);
  }
  const events = (trace as { format?: string; events?: unknown }).events;
  if ((trace as { format?: string }).format !== 'imslab-trace' || !Array.isArray(events)) {
    throw new CorpusError(`${path}: not an imslab JSON trace (format "imslab-trace")`);
  }
  const seen = new Set<string>();
  for (const e of events as Array<{ type?: string; protocol?: string; direction?: string; bytes?: string }>) {
    if (e.type !== 'packet' || e.direction !== 'send' || typeof e.bytes !== 'string') continue;
    if (e.protocol !== 'sip' && e.protocol !== 'diameter') continue;
    if (seen.has(e.bytes)) continue;
    seen.add(e.bytes);
    (e.protocol === 'sip' ? sip : diameter).push(Buffer.from(e.bytes, 'base64'));
  }
}

function looksLikeDiameter(b: Buffer): boolean {
  return b.length >= 20 && b[0] === 1 && ((b[1]! << 16) | (b[2]! << 8) | b[3]!) === b.length;
}
