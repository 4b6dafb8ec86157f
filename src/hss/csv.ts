import type { SubscriberStore } from './store.js';
import {
  AUTH_SCHEMES,
  SubscriberError,
  defaultSchemes,
  normaliseImpu,
  validateSubscriber,
  type AuthScheme,
  type Subscriber,
} from './subscriber.js';

/**
 * Subscriber provisioning files: `;`-separated, the first line names the columns, one subscriber per line.
 * The same file can feed SIPp's `-inf`: a leading SIPp mode line (SEQUENTIAL, RANDOM, USER) is skipped, the
 * column line may start with `#`, and K/OP/OPc may be given as SIPp takes them (16 characters whose octets are
 * the key) as well as 32 hex digits; AMF likewise as 2 characters or 4 hex digits.
 *
 * Columns (case-insensitive, any order):
 *   impi (required) · impu / impus (one or more, `,`-separated; the first is the default identity)
 *   k · op · opc · amf (default 8000) · sqn (up to 12 hex digits, default 0)
 *   password (SIP Digest) · scheme / schemes (`,`-separated: AKAv1-MD5, AKAv2-MD5, SIP Digest)
 *   barred (`,`-separated IMPUs of this line that are barred) · visited (allowed visited networks, `,`-separated, `*` = any)
 *   x_… or x-… (ignored: room for SIPp-only fields)
 */
export class CsvError extends Error {
  override readonly name = 'CsvError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${field ? `field "${field}": ` : ''}${reason}`);
  }
}

const COLUMNS = ['impi', 'impu', 'impus', 'k', 'op', 'opc', 'amf', 'sqn', 'password', 'scheme', 'schemes', 'barred', 'visited'] as const;
type Column = (typeof COLUMNS)[number];
const SIPP_MODE = /^(SEQUENTIAL|RANDOM|USER)(\s*,.*)?$/i;
const HEX = /^[0-9a-fA-F]*$/;

export interface CsvRow {
  /** 1-based line number in the file. */
  line: number;
  subscriber: Subscriber;
  /** Whether the line gave an SQN (an import keeps the stored SQN otherwise). */
  sqnGiven: boolean;
}

/** Parses a provisioning file. Throws a CsvError naming the file, the line and the field on the first bad line. */
export function parseSubscriberCsv(text: string, fileName: string): Subscriber[] {
  return parseSubscriberCsvRows(text, fileName).map((r) => r.subscriber);
}

export function parseSubscriberCsvRows(text: string, fileName: string): CsvRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let i = 0;
  const skipBlank = () => {
    while (i < lines.length && lines[i]!.trim() === '') i++;
  };
  skipBlank();
  if (i < lines.length && SIPP_MODE.test(lines[i]!.trim())) {
    i++;
    skipBlank();
  }
  if (i >= lines.length) throw new CsvError(fileName, i, undefined, 'empty file: the first line must name the columns, e.g. impi;impu;k;op;amf');
  const headerLine = i + 1;
  let header = lines[i]!.trim();
  if (header.startsWith('#')) header = header.slice(1);
  const columns = dropTrailingEmpty(header.split(';')).map((c) => c.trim().toLowerCase());
  const index = new Map<Column, number>();
  columns.forEach((name, at) => {
    if (name.startsWith('x_') || name.startsWith('x-')) return;
    if (!(COLUMNS as readonly string[]).includes(name))
      throw new CsvError(fileName, headerLine, name, `unknown column (known: ${COLUMNS.join(', ')}; prefix SIPp-only columns with x_)`);
    if (index.has(name as Column)) throw new CsvError(fileName, headerLine, name, 'column named twice');
    index.set(name as Column, at);
  });
  if (!index.has('impi')) throw new CsvError(fileName, headerLine, 'impi', 'the column line must name an impi column');
  if (!index.has('impu') && !index.has('impus')) throw new CsvError(fileName, headerLine, 'impu', 'the column line must name an impu column');

  const rows: CsvRow[] = [];
  const impis = new Map<string, number>();
  const impus = new Map<string, number>();
  for (i++; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) continue;
    const line = i + 1;
    const fields = dropTrailingEmpty(raw.split(';'));
    if (fields.length > columns.length)
      throw new CsvError(fileName, line, undefined, `${fields.length} fields but the column line names ${columns.length}`);
    const value = (c: Column): string | undefined => {
      const at = index.get(c);
      if (at === undefined) return undefined;
      const v = fields[at]?.trim();
      return v === undefined || v === '' ? undefined : v;
    };
    const subscriber = parseRow(value, (c) => index.has(c), (field, why) => new CsvError(fileName, line, field, why));
    const seenAt = impis.get(subscriber.impi);
    if (seenAt !== undefined) throw new CsvError(fileName, line, 'impi', `${subscriber.impi} is already on line ${seenAt}`);
    impis.set(subscriber.impi, line);
    for (const p of subscriber.impus) {
      const key = normaliseImpu(p.uri);
      const at = impus.get(key);
      if (at !== undefined) throw new CsvError(fileName, line, 'impu', `${p.uri} is already on line ${at}`);
      impus.set(key, line);
    }
    rows.push({ line, subscriber, sqnGiven: value('sqn') !== undefined });
  }
  return rows;
}

function parseRow(
  value: (c: Column) => string | undefined,
  hasColumn: (c: Column) => boolean,
  fail: (field: string, why: string) => CsvError,
): Subscriber {
  const impi = value('impi');
  if (!impi) throw fail('impi', 'missing');
  const uris = [...list(value('impu')), ...list(value('impus'))];
  if (uris.length === 0) throw fail('impu', 'missing');
  const barred = new Set(list(value('barred')).map(normaliseImpu));
  for (const b of barred)
    if (!uris.some((u) => normaliseImpu(u) === b)) throw fail('barred', `${b} is not one of this line's public identities`);

  const s: Subscriber = {
    impi,
    impus: uris.map((uri) => ({ uri, barred: barred.has(normaliseImpu(uri)) })),
    authSchemes: [],
    amf: Buffer.from([0x80, 0x00]),
    sqn: 0n,
    allowedVisitedNetworks: list(value('visited')),
  };
  const k = value('k');
  if (k !== undefined) s.k = key(k, 16, 'k', fail);
  const op = value('op');
  if (op !== undefined) s.op = key(op, 16, 'op', fail);
  const opc = value('opc');
  if (opc !== undefined) s.opc = key(opc, 16, 'opc', fail);
  if (s.op && s.opc) throw fail('opc', 'give OP or OPc, not both');
  const amf = value('amf');
  if (amf !== undefined) s.amf = key(amf, 2, 'amf', fail);
  const sqn = value('sqn');
  if (sqn !== undefined) s.sqn = parseSqn(sqn, (why) => fail('sqn', why));
  const password = value('password');
  if (password !== undefined) s.password = password;

  const schemeText = value('schemes') ?? value('scheme');
  s.authSchemes = schemeText === undefined ? defaultSchemes(s) : list(schemeText).map((x) => parseScheme(x, fail));
  if (s.authSchemes.length === 0)
    throw fail(hasColumn('password') && !s.k ? 'password' : 'k', 'no credentials: give k with op or opc (IMS AKA), or a password (SIP Digest)');
  try {
    validateSubscriber(s);
  } catch (e) {
    if (e instanceof SubscriberError) {
      const [field, ...why] = e.message.split(': ');
      throw fail(field!, why.join(': '));
    }
    throw e;
  }
  return s;
}

/**
 * A key of `octets` octets: 2×octets hex digits, or exactly `octets` characters taken as their own octets
 * (SIPp uses the text of aka_K/aka_OP/aka_AMF as the key bytes).
 */
export function parseKey(text: string, octets: number): Buffer | string {
  if (text.length === octets * 2 && HEX.test(text)) return Buffer.from(text, 'hex');
  if (text.length === octets) return Buffer.from(text, 'latin1');
  return `must be ${octets * 2} hex digits (or ${octets} characters, as SIPp takes it), got ${text.length} characters`;
}

function key(text: string, octets: number, field: string, fail: (field: string, why: string) => CsvError): Buffer {
  const r = parseKey(text, octets);
  if (typeof r === 'string') throw fail(field, r);
  return r;
}

/** SQN as up to 12 hex digits (48 bits, TS 33.102 §6.3.2), with or without 0x. */
export function parseSqn(text: string, fail: (why: string) => Error): bigint {
  const hex = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (hex.length === 0 || hex.length > 12 || !HEX.test(hex)) throw fail(`must be 1 to 12 hex digits (48 bits), got "${text}"`);
  return BigInt('0x' + hex);
}

export function parseScheme(text: string, fail: (field: string, why: string) => Error): AuthScheme {
  const t = text.trim().toLowerCase();
  if (t === 'akav1-md5' || t === 'digest-akav1-md5' || t === 'aka' || t === 'akav1') return 'AKAv1-MD5';
  if (t === 'akav2-md5' || t === 'digest-akav2-md5' || t === 'akav2') return 'AKAv2-MD5';
  if (t === 'sip digest' || t === 'digest' || t === 'digest-md5' || t === 'md5') return 'SIP Digest';
  throw fail('scheme', `unknown scheme "${text}" (known: ${AUTH_SCHEMES.join(', ')})`);
}

function list(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function dropTrailingEmpty(fields: string[]): string[] {
  // SIPp lines often end with ';'.
  return fields.length > 1 && fields[fields.length - 1]!.trim() === '' ? fields.slice(0, -1) : fields;
}

/**
 * Imports a provisioning file all-or-nothing: every line is parsed first, then every subscriber is written in
 * one transaction, so a bad line or a clash with what is stored changes nothing. Existing IMPIs are replaced
 * (keeping their stored SQN unless the file gives one, so a re-import never rewinds a counter).
 */
export function importSubscriberCsv(store: SubscriberStore, text: string, fileName: string): Subscriber[] {
  const rows = parseSubscriberCsvRows(text, fileName);
  store.transaction((tx) => {
    for (const { line, subscriber, sqnGiven } of rows) {
      const existing = tx.get(subscriber.impi);
      if (existing && !sqnGiven) subscriber.sqn = existing.sqn;
      try {
        tx.put(subscriber);
      } catch (e) {
        throw new CsvError(fileName, line, 'impu', (e as Error).message);
      }
    }
  });
  return rows.map((r) => r.subscriber);
}
