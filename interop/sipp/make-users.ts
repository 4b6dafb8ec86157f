/**
 * Writes N distinct subscribers as ONE file that both SIPp (`-inf users.csv`) and the HSS
 * (`imslab serve … --subscribers users.csv`, src/hss/csv.ts) read:
 *
 *   SEQUENTIAL                                  ← SIPp's mode line; the HSS importer skips it
 *   #impi;impu;k;op;amf;x_user                  ← a comment to SIPp, the column line to the HSS
 *   u000001@ims…;sip:u000001@ims…;K…;OP…;am;u000001
 *
 * SIPp fields, as the scenarios in this folder use them:
 *   IMS AKA:    [field0] IMPI · [field1] IMPU · [field2] K · [field3] OP · [field4] AMF · [field5] user part
 *   SIP Digest: [field0] IMPI · [field1] IMPU · [field2] password · [field3] user part
 *
 * SIPp 3.6.1 takes aka_K, aka_OP and aka_AMF as text whose octets ARE the key (K and OP exactly 16
 * characters, AMF exactly 2); the HSS importer reads a 16-character K/OP and a 2-character AMF the same way,
 * so the same line gives both sides the same 128-bit K (TS 35.205 §2). Keys are letters and digits only:
 * nothing SIPp's keyword parser or the `;` separator could cut.
 *
 * Keys are derived from a seed, so a run is reproducible and two generated files with different seeds or
 * prefixes never share a user.
 *
 * Usage: npx tsx interop/sipp/make-users.ts --count 1000 [--scheme aka|digest] [--prefix u]
 *        [--domain ims.mnc001.mcc001.3gppnetwork.org] [--seed imslab] [--out users.csv]
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export type UserScheme = 'aka' | 'digest';

export interface UserFileOptions {
  count: number;
  scheme?: UserScheme;
  /** Home network domain (TS 23.003 §13.2); the realm of every IMPI. */
  domain?: string;
  /** User-part prefix; vary it to make disjoint user sets for one HSS. */
  prefix?: string;
  seed?: string;
  /** IMS AKA: the AMF as SIPp takes it, 2 characters (default "am", octets 0x61 0x6d). */
  amf?: string;
}

export interface SippUser {
  impi: string;
  impu: string;
  user: string;
  /** IMS AKA: 16 characters whose octets are K. */
  k?: string;
  /** IMS AKA: 16 characters whose octets are OP (the operator's, shared by every user of one seed). */
  op?: string;
  amf?: string;
  /** SIP Digest password. */
  password?: string;
}

export const DEFAULT_DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAX_USERS = 1_000_000;

/** `length` characters from [A-Za-z0-9], a deterministic function of `label`. */
function derive(label: string, length: number): string {
  const digest = createHash('sha256').update(label).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[digest[i]! % ALPHABET.length];
  return out;
}

export function makeUsers(options: UserFileOptions): SippUser[] {
  const { count, scheme = 'aka', domain = DEFAULT_DOMAIN, prefix = 'u', seed = 'imslab', amf = 'am' } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_USERS) throw new RangeError(`count must be an integer from 1 to ${MAX_USERS}, got ${count}`);
  if (!/^[a-z][a-z0-9._-]*$/i.test(prefix)) throw new RangeError(`prefix must be a SIP user part of letters, digits, ".", "_" or "-", got ${JSON.stringify(prefix)}`);
  if (!/^[a-z0-9.-]+$/i.test(domain)) throw new RangeError(`domain must be a host name, got ${JSON.stringify(domain)}`);
  if (scheme === 'aka' && !/^[A-Za-z0-9]{2}$/.test(amf)) throw new RangeError(`amf must be 2 letters or digits (SIPp takes its text as the octets), got ${JSON.stringify(amf)}`);
  const width = Math.max(6, String(count).length);
  const op = derive(`${seed}/op`, 16);
  const users: SippUser[] = [];
  for (let i = 1; i <= count; i++) {
    const user = `${prefix}${String(i).padStart(width, '0')}`;
    const base = { impi: `${user}@${domain}`, impu: `sip:${user}@${domain}`, user };
    users.push(
      scheme === 'aka'
        ? { ...base, k: derive(`${seed}/k/${user}`, 16), op, amf }
        : { ...base, password: derive(`${seed}/password/${user}`, 12) },
    );
  }
  return users;
}

/** The file text: SIPp's SEQUENTIAL line, the `#`-commented column line, one user per line. */
export function formatUserFile(users: readonly SippUser[], scheme: UserScheme = 'aka'): string {
  const lines = ['SEQUENTIAL'];
  if (scheme === 'aka') {
    lines.push('#impi;impu;k;op;amf;x_user');
    for (const u of users) lines.push(`${u.impi};${u.impu};${u.k};${u.op};${u.amf};${u.user}`);
  } else {
    lines.push('#impi;impu;password;x_user');
    for (const u of users) lines.push(`${u.impi};${u.impu};${u.password};${u.user}`);
  }
  return lines.join('\n') + '\n';
}

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        count: { type: 'string', default: '1000' },
        scheme: { type: 'string', default: 'aka' },
        prefix: { type: 'string', default: 'u' },
        domain: { type: 'string', default: DEFAULT_DOMAIN },
        seed: { type: 'string', default: 'imslab' },
        amf: { type: 'string', default: 'am' },
        out: { type: 'string' },
      },
      strict: true,
    }));
    if (values.scheme !== 'aka' && values.scheme !== 'digest') throw new RangeError(`scheme must be aka or digest, got ${JSON.stringify(values.scheme)}`);
    if (!/^\d+$/.test(values.count)) throw new RangeError(`count must be a number, got ${JSON.stringify(values.count)}`);
    const scheme: UserScheme = values.scheme;
    const text = formatUserFile(
      makeUsers({ count: Number(values.count), scheme, prefix: values.prefix, domain: values.domain, seed: values.seed, amf: values.amf }),
      scheme,
    );
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  } catch (e) {
    process.stderr.write(`make-users: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
