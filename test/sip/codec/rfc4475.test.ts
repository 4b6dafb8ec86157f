import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMessage, type Role } from '../../../src/sip/check/verdict.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { parseContacts } from '../../../src/sip/headers/contact.js';
import { parseUri, type SipUri } from '../../../src/sip/uri.js';
import { vectorPath } from '../../helpers/vectors.js';

const VECTORS = vectorPath('rfc4475');
const FIXTURES = join(import.meta.dirname, 'fixtures');

type Expect = ['accept'] | ['discard'] | ['reject', number] | ['reject', number, string];

/**
 * The handling each RFC 4475 message in the published folder calls for (index.json expected_handling), per
 * role. Where the RFC allows either strictness or liberal inference, imslab is strict (400) and says so.
 */
const PUBLISHED: Record<string, Partial<Record<Role, Expect>>> = {
  wsinv: { proxy: ['accept'], uas: ['accept'] },
  intmeth: { proxy: ['accept'], uas: ['reject', 501] },
  esc01: { proxy: ['accept'], uas: ['accept'] },
  escnull: { proxy: ['accept'], registrar: ['accept'] },
  longreq: { proxy: ['accept'], uas: ['accept'] },
  dblreq: { proxy: ['accept'], registrar: ['accept'] },
  transports: { proxy: ['accept'], uas: ['accept'] },
  mpart01: { proxy: ['accept'], uas: ['accept'] },
  badinv01: { proxy: ['reject', 400], uas: ['reject', 400] },
  ncl: { proxy: ['reject', 400], uas: ['reject', 400] },
  scalar02: { proxy: ['reject', 400], registrar: ['reject', 400] },
  quotbal: { proxy: ['reject', 400], uas: ['reject', 400] },
  lwsruri: { proxy: ['reject', 400], uas: ['reject', 400] },
  lwsstart: { proxy: ['reject', 400], uas: ['reject', 400] },
  escruri: { proxy: ['reject', 400], uas: ['reject', 400] },
  // Date is not used by any imslab element, so the bad time zone is ignored (the RFC's liberal choice).
  baddate: { proxy: ['accept'], uas: ['accept'] },
  regbadct: { registrar: ['reject', 400], proxy: ['reject', 400] },
  badaspec: { proxy: ['reject', 400], uas: ['reject', 400] },
  baddn: { proxy: ['reject', 400], uas: ['reject', 400] },
  mismatch01: { proxy: ['reject', 400], uas: ['reject', 400] },
  badbranch: { proxy: ['reject', 400], uas: ['reject', 400] },
  unkscm: { proxy: ['reject', 416], uas: ['reject', 416] },
  unksm2: { proxy: ['accept'], registrar: ['reject', 400] },
  invut: { proxy: ['accept'], uas: ['reject', 415] },
  regaut01: { registrar: ['accept'], uas: ['reject', 405] },
  multi01: { proxy: ['reject', 400], uas: ['reject', 400] },
  mcl01: { proxy: ['reject', 400], uas: ['reject', 400] },
  bcast: { proxy: ['discard'], uas: ['discard'] },
  cparam01: { registrar: ['accept'] },
  regescrt: { registrar: ['accept'] },
};

interface IndexEntry {
  name: string;
  file: string;
}

function assertVerdict(bytes: Buffer, role: Role, exp: Expect): void {
  const v = checkMessage(bytes, role);
  expect(v.verdict, v.reason).toBe(exp[0]);
  if (exp[0] === 'reject') expect(v.status, v.reason).toBe(exp[1]);
  else expect(v.status).toBeUndefined();
  if (exp.length === 3) expect(v.headers).toContainEqual(['Unsupported', exp[2]]);
  expect(v.reason.length).toBeGreaterThan(0);
}

describe('RFC 4475 torture messages from the published folder', () => {
  const index = JSON.parse(readFileSync(join(VECTORS, 'index.json'), 'utf8')) as { messages: IndexEntry[] };

  it('covers every message of the folder', () => {
    expect(index.messages.map((m) => m.name).sort()).toEqual(Object.keys(PUBLISHED).sort());
  });

  for (const entry of index.messages) {
    for (const [role, exp] of Object.entries(PUBLISHED[entry.name] ?? {}) as [Role, Expect][]) {
      it(`${entry.name} as ${role}: ${exp.join(' ')}`, () => {
        assertVerdict(readFileSync(join(VECTORS, entry.file)), role, exp);
      });
    }
  }

  it('dblreq: the trailing INVITE octets are not part of the REGISTER', () => {
    const m = parseMessage(readFileSync(join(VECTORS, 'dblreq.dat')));
    expect(m.kind === 'request' && m.method).toBe('REGISTER');
    expect(m.body.length).toBe(0);
  });

  it('mpart01: the binary body part with 0x00 octets arrives intact', () => {
    const raw = readFileSync(join(VECTORS, 'mpart01.dat'));
    const m = parseMessage(raw);
    expect(m.body.length).toBe(553);
    expect(m.body.includes(0)).toBe(true);
    expect(Buffer.compare(m.body, raw.subarray(raw.length - 553))).toBe(0);
  });

  it('escnull: user parts are not cut at %00 and the two contacts differ', () => {
    const m = parseMessage(readFileSync(join(VECTORS, 'escnull.dat')));
    const contacts = parseContacts(m.headers);
    if (contacts === '*') throw new Error('unexpected wildcard');
    const users = contacts.map((c) => (parseUri(c.uri) as SipUri).user);
    expect(users).toHaveLength(2);
    expect(users[0]).not.toBe(users[1]);
    for (const u of users) expect(u).toContain('\0');
    const to = (parseUri(m.headers.get('To')!) as SipUri).user!;
    expect(to.indexOf('\0')).toBeLessThan(to.length - 1);
  });

  it('cparam01: unknownparam is a contact parameter, not a URI parameter', () => {
    const m = parseMessage(readFileSync(join(VECTORS, 'cparam01.dat')));
    const [c] = parseContacts(m.headers) as Exclude<ReturnType<typeof parseContacts>, '*'>;
    expect(c!.params.has('unknownparam')).toBe(true);
    expect((parseUri(c!.uri) as SipUri).params.has('unknownparam')).toBe(false);
  });

  it('regescrt: the escaped Route header stays in the contact URI', () => {
    const m = parseMessage(readFileSync(join(VECTORS, 'regescrt.dat')));
    const [c] = parseContacts(m.headers) as Exclude<ReturnType<typeof parseContacts>, '*'>;
    expect((parseUri(c!.uri) as SipUri).headers.get('Route')).toBe('<sip:sip.example.com>');
  });

  it('esc01: %25%34%31 decodes once to "%41", not to "A"', () => {
    const m = parseMessage(readFileSync(join(VECTORS, 'esc01.dat')));
    const c = parseContacts(m.headers) as Exclude<ReturnType<typeof parseContacts>, '*'>;
    const u = parseUri(c[0]!.uri) as SipUri;
    expect(u.user).toBe('caller');
    expect(u.params.get('name')).toBe('value%41');
    expect(u.params.has('lr')).toBe(true);
  });
});

describe('RFC 4475 torture messages written from the RFC (test/sip/codec/fixtures)', () => {
  const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as {
    messages: { name: string; file: string; section: string; expect: Partial<Record<Role, Expect>> }[];
  };
  it('holds the 19 messages missing from the published folder', () => {
    expect(index.messages).toHaveLength(19);
  });
  for (const entry of index.messages) {
    for (const [role, exp] of Object.entries(entry.expect) as [Role, Expect][]) {
      it(`§${entry.section} ${entry.name} as ${role}: ${exp.join(' ')}`, () => {
        assertVerdict(readFileSync(join(FIXTURES, entry.file)), role, exp);
      });
    }
  }
});
