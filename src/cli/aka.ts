import type { Command } from 'commander';
import { AkaInputError, fromHex } from '../aka/bytes.js';
import { diagnose, type DoctorAuthorization } from '../aka/doctor.js';
import { Milenage, computeOpc } from '../aka/milenage.js';
import { computeAuts, resynchronise } from '../aka/resync.js';
import { generateVector } from '../aka/vector.js';
import { DigestInputError, encodeAkaNonce } from '../sip/auth/digest.js';
import { AuthHeaderError, parseAuthHeader } from '../sip/auth/credentials.js';
import { CryptoRandom } from '../util/random.js';

/**
 * `imslab aka …`: Milenage, AUTS, resync, vectors and the doctor from the command line. All output is one JSON
 * object on stdout with lowercase hex; bad input is one line on stderr naming the option, exit status 2.
 */

type Opts = Record<string, string | undefined>;

class UsageError extends Error {}

const KEY_HELP =
  'SIPp takes aka_K/aka_OP/aka_AMF as ASCII text: pass those with --k-text/--op-text/--amf-text ' +
  '(K "0123456789abcdef" is the same as --k 30313233343536373839616263646566).';

function text(field: string, value: string, octets: number): Buffer {
  const b = Buffer.from(value, 'latin1');
  if (b.length !== octets) throw new UsageError(`${field}: expected exactly ${octets} characters, got ${b.length}`);
  return b;
}

function need(o: Opts, name: string, octets?: number): Buffer {
  const v = o[camel(name)];
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return fromHex(`--${name}`, v, octets);
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function keyOf(o: Opts): Buffer {
  if (o.k !== undefined && o.kText !== undefined) throw new UsageError('give --k or --k-text, not both');
  if (o.kText !== undefined) return text('--k-text', o.kText, 16);
  return need(o, 'k', 16);
}

/** OP or OPc, whichever was given, resolved to OPc; `op`/`opc` as given for the doctor's hypotheses. */
function operatorKey(o: Opts, k: Buffer): { opc: Buffer; op?: Buffer; givenOpc?: Buffer } {
  const given = ['op', 'opText', 'opc'].filter((n) => o[n] !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --op, --op-text, --opc');
  if (o.opc !== undefined) {
    const opc = fromHex('--opc', o.opc, 16);
    return { opc, givenOpc: opc };
  }
  const op = o.opText !== undefined ? text('--op-text', o.opText, 16) : fromHex('--op', o.op!, 16);
  return { opc: computeOpc(k, op), op };
}

function amfOf(o: Opts): Buffer {
  if (o.amf !== undefined && o.amfText !== undefined) throw new UsageError('give --amf or --amf-text, not both');
  if (o.amfText !== undefined) return text('--amf-text', o.amfText, 2);
  return need(o, 'amf', 2);
}

function withKeyOptions(cmd: Command): Command {
  return cmd
    .option('--k <hex>', 'subscriber key K, 16 octets')
    .option('--k-text <text>', 'K as 16 ASCII characters (SIPp aka_K)')
    .option('--op <hex>', 'operator variant OP, 16 octets')
    .option('--op-text <text>', 'OP as 16 ASCII characters (SIPp aka_OP)')
    .option('--opc <hex>', 'OPc = OP xor E_K(OP), 16 octets');
}

function print(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
}

/** Runs an action; input errors become one stderr line and exit status 2, nothing else is printed. */
function guarded(name: string, action: (o: Opts) => number | void): (o: Opts) => void {
  return (o) => {
    try {
      const code = action(o);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      if (e instanceof UsageError || e instanceof AkaInputError || e instanceof DigestInputError || e instanceof AuthHeaderError) {
        process.stderr.write(`imslab aka ${name}: ${e.message}\n`);
        process.exitCode = 2;
        return;
      }
      throw e;
    }
  };
}

const hex = (b: Buffer) => b.toString('hex');

export function registerAkaCommands(program: Command): void {
  const aka = program
    .command('aka')
    .description('IMS AKA: Milenage (TS 35.206), vectors, AUTS/resync (TS 33.102) and the 401-loop doctor')
    .addHelpText('after', `\n${KEY_HELP}`);

  withKeyOptions(aka.command('milenage').description('f1, f1*, f2, f3, f4, f5, f5* and AUTN for one RAND/SQN/AMF'))
    .option('--rand <hex>', 'RAND, 16 octets')
    .option('--sqn <hex>', 'SQN, 6 octets')
    .option('--amf <hex>', 'AMF, 2 octets')
    .option('--amf-text <text>', 'AMF as 2 ASCII characters (SIPp aka_AMF)')
    .action(
      guarded('milenage', (o) => {
        const k = keyOf(o);
        const { opc } = operatorKey(o, k);
        const rand = need(o, 'rand', 16);
        const sqn = need(o, 'sqn', 6);
        const amf = amfOf(o);
        const m = new Milenage(k, opc);
        const { macA, macS } = m.f1Both(rand, sqn, amf);
        const { res, ck, ik, ak } = m.f2345(rand);
        const v = generateVector({ k, opc, sqn, amf, rand, milenage: m });
        print({ opc: hex(opc), mac_a: hex(macA), mac_s: hex(macS), res: hex(res), ck: hex(ck), ik: hex(ik), ak: hex(ak), ak_star: hex(m.f5star(rand)), autn: hex(v.autn) });
      }),
    );

  withKeyOptions(aka.command('auts').description('the AUTS a USIM sends for SQN_MS (AMF* = 0000, TS 33.102 §6.3.3)'))
    .option('--rand <hex>', 'RAND of the challenge, 16 octets')
    .option('--sqn-ms <hex>', 'SQN_MS, the USIM\'s highest accepted SQN, 6 octets')
    .action(
      guarded('auts', (o) => {
        const k = keyOf(o);
        const { opc } = operatorKey(o, k);
        print({ auts: hex(computeAuts({ k, opc, rand: need(o, 'rand', 16), sqnMs: need(o, 'sqn-ms', 6) })) });
      }),
    );

  withKeyOptions(aka.command('resync').description('recover SQN_MS from AUTS and verify MAC-S (TS 33.102 §6.3.5)'))
    .option('--rand <hex>', 'RAND of the challenge the UE answered, 16 octets')
    .option('--auts <hex>', 'AUTS, 14 octets (hex; the SIP auts directive is its base64)')
    .action(
      guarded('resync', (o) => {
        const k = keyOf(o);
        const { opc } = operatorKey(o, k);
        const r = resynchronise({ k, opc, rand: need(o, 'rand', 16), auts: need(o, 'auts', 14) });
        print({ sqn_ms: hex(r.sqnMs), valid: r.valid });
      }),
    );

  withKeyOptions(aka.command('vector').description('an authentication vector and the RFC 3310 nonce carrying it'))
    .option('--sqn <hex>', 'SQN, 6 octets')
    .option('--amf <hex>', 'AMF, 2 octets')
    .option('--amf-text <text>', 'AMF as 2 ASCII characters (SIPp aka_AMF)')
    .option('--rand <hex>', 'RAND, 16 octets (random if omitted)')
    .action(
      guarded('vector', (o) => {
        const k = keyOf(o);
        const { opc } = operatorKey(o, k);
        const sqn = need(o, 'sqn', 6);
        const amf = amfOf(o);
        const rand = o.rand !== undefined ? need(o, 'rand', 16) : new CryptoRandom().bytes(16);
        const v = generateVector({ k, opc, sqn, amf, rand });
        print({ rand: hex(v.rand), xres: hex(v.xres), ck: hex(v.ck), ik: hex(v.ik), autn: hex(v.autn), nonce: encodeAkaNonce(v) });
      }),
    );

  withKeyOptions(
    aka
      .command('doctor')
      .description('explain why a UE\'s answer to an AKA challenge is rejected (exit 0: ok, 1: a problem was found, 2: bad input)')
      .addHelpText(
        'after',
        '\nGive the nonce of the 401 and what the UE answered: either its Authorization (--authorization, or --response with\n' +
          '--username/--realm/--uri …; an empty --response "" means the UE rejected the challenge), or the raw --res.\n' +
          KEY_HELP,
      ),
  )
    .option('--nonce <base64>', 'the nonce of the challenge, exactly as sent')
    .option('--authorization <value>', 'the UE\'s Authorization header value (Digest username="…", …)')
    .option('--response <hex>', 'the response directive the UE sent')
    .option('--username <impi>')
    .option('--realm <realm>')
    .option('--uri <uri>')
    .option('--method <method>', 'request method', 'REGISTER')
    .option('--nc <hex8>')
    .option('--cnonce <text>')
    .option('--qop <qop>')
    .option('--algorithm <token>', 'AKAv1-MD5 or AKAv2-MD5 (default AKAv1-MD5)')
    .option('--auts <base64>', 'the auts directive the UE sent')
    .option('--res <hex>', 'the raw RES instead of a digest response')
    .option('--amf <hex>', 'the subscriber\'s AMF, 2 octets')
    .option('--amf-text <text>', 'AMF as 2 ASCII characters (SIPp aka_AMF)')
    .option('--sqn-hss <hex>', 'the SQN the HSS holds, 6 octets')
    .action(
      guarded('doctor', (o) => {
        const k = keyOf(o);
        const { op, givenOpc } = operatorKey(o, k);
        const amf = amfOf(o);
        if (o.nonce === undefined) throw new UsageError('--nonce is required');
        const sqnHss = o.sqnHss !== undefined ? fromHex('--sqn-hss', o.sqnHss, 6) : undefined;
        const authorization = authorizationOf(o);
        const res = o.res !== undefined ? fromHex('--res', o.res) : undefined;
        if (!authorization && !res) throw new UsageError('give --authorization, --response with --username/--realm/--uri, or --res');
        if (authorization && res) throw new UsageError('give either the Authorization parameters or --res, not both');
        const d = diagnose({
          nonce: o.nonce,
          ...(authorization ? { authorization } : {}),
          ...(res ? { res } : {}),
          subscriber: { k, amf, ...(op ? { op } : {}), ...(givenOpc ? { opc: givenOpc } : {}), ...(sqnHss ? { sqnHss } : {}) },
        });
        if (d.verdict === 'bad-input') throw new UsageError(d.explanation);
        print(d);
        return d.verdict === 'ok' ? 0 : 1;
      }),
    );
}

function authorizationOf(o: Opts): DoctorAuthorization | undefined {
  const fields = ['username', 'realm', 'uri', 'nc', 'cnonce', 'qop', 'algorithm', 'auts'] as const;
  if (o.authorization !== undefined) {
    const parsed = parseAuthHeader(o.authorization);
    if (parsed.scheme.toLowerCase() !== 'digest') throw new UsageError(`--authorization: expected the Digest scheme, got ${parsed.scheme}`);
    const p = parsed.params;
    const a: DoctorAuthorization = {
      response: p.get('response') ?? '',
      username: p.get('username') ?? '',
      realm: p.get('realm') ?? '',
      uri: p.get('uri') ?? '',
      method: o.method ?? 'REGISTER',
    };
    for (const f of fields.slice(3)) {
      const v = p.get(f);
      if (v !== undefined) a[f] = v;
    }
    if (o.nonce !== undefined && p.has('nonce') && p.get('nonce') !== o.nonce) {
      throw new UsageError('--authorization: its nonce differs from --nonce; the UE answered another challenge');
    }
    return a;
  }
  if (o.response === undefined && o.auts === undefined) return undefined;
  for (const f of ['username', 'realm', 'uri'] as const) {
    if (o[f] === undefined) throw new UsageError(`--${f} is required with --response`);
  }
  const a: DoctorAuthorization = { response: o.response ?? '', username: o.username!, realm: o.realm!, uri: o.uri!, method: o.method ?? 'REGISTER' };
  for (const f of fields.slice(3)) {
    const v = o[f];
    if (v !== undefined) a[f] = v;
  }
  return a;
}
