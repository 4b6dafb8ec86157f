import { describe, expect, it } from 'vitest';
import { computeOpc } from '../../src/aka/milenage.js';
import { generateVector } from '../../src/aka/vector.js';
import { imsSubscriptionXml } from '../../src/hss/user-data.js';
import { derivePrivateIdentity, resolveServerName, selectScscfs, uaaRefusal } from '../../src/scscf/icscf/selection.js';
import { buildRegInfo, parseRegInfo, RegInfoError, type RegInfo } from '../../src/scscf/reginfo.js';
import { ChallengeBook, makeChallenge, marScheme, verifyAnswer } from '../../src/scscf/scscf/challenges.js';
import { impuKey, MemoryRegistrationStore } from '../../src/scscf/scscf/registration-store.js';
import { parseUserProfile, ProfileError } from '../../src/scscf/user-profile.js';
import { akaPassword, computeDigestResponse, ha1 } from '../../src/sip/auth/digest.js';
import { parseChallenge, parseCredentials } from '../../src/sip/headers/auth.js';
import { formatCredentials } from '../../src/sip/auth/credentials.js';
import { SipRequest } from '../../src/sip/message.js';
import { Directory } from '../../src/topology/directory.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { ALICE, DOMAIN, K, OP } from './helpers/lab.js';

describe('reginfo+xml (RFC 3680 §5.3)', () => {
  const doc: RegInfo = {
    version: 3,
    state: 'partial',
    registrations: [
      {
        aor: 'sip:alice@ims.lab.test',
        id: 'r1',
        state: 'active',
        contacts: [
          {
            id: 'c1', state: 'active', event: 'refreshed', uri: 'sip:ue@127.0.10.1:5060', expires: 3600, durationRegistered: 12, q: 0.5,
            callId: 'a<b>&"c"', cseq: 7, displayName: 'Alice & co', unknownParams: [['+sip.instance', '"<urn:uuid:1234>"'], ['+g.3gpp.smsip', '']],
          },
        ],
      },
      { aor: 'tel:+15550001', id: 'r2', state: 'terminated', contacts: [] },
    ],
  };

  it('builds a document that parses back to the same objects, escaping what XML needs', () => {
    const xml = buildRegInfo(doc);
    expect(xml).toContain('<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="3" state="partial">');
    expect(xml).toContain('callid="a&lt;b&gt;&amp;&quot;c&quot;"');
    expect(xml).toContain('<unknown-param name="+sip.instance">&quot;&lt;urn:uuid:1234&gt;&quot;</unknown-param>');
    expect(xml).toContain('<unknown-param name="+g.3gpp.smsip"/>');
    expect(parseRegInfo(xml)).toEqual(doc);
  });

  it('reads namespace prefixes, comments and a declaration', () => {
    const xml = `<?xml version="1.0"?><!-- hi --><r:reginfo xmlns:r="urn:ietf:params:xml:ns:reginfo" version="0" state="full"><r:registration aor="sip:a@b" id="x" state="init"/></r:reginfo>`;
    expect(parseRegInfo(xml)).toEqual({ version: 0, state: 'full', registrations: [{ aor: 'sip:a@b', id: 'x', state: 'init', contacts: [] }] });
  });

  it.each([
    ['<notreginfo version="0" state="full"/>', 'root element'],
    ['<reginfo state="full"/>', 'without a version'],
    ['<reginfo version="0" state="half"/>', 'neither full nor partial'],
    ['<reginfo version="0" state="full"><registration aor="x" id="1" state="active">', 'not closed'],
    ['<reginfo version="0" state="full"><registration aor="x" id="1" state="weird"/></reginfo>', 'state "weird"'],
    ['<reginfo version="0" state="full"><registration aor="x" id="1" state="active"><contact id="1" state="active" event="registered"/></registration></reginfo>', 'without <uri>'],
    ['<reginfo version="x1" state="full"/>', 'not a number'],
    ['', 'no root'],
  ])('refuses %s with a reason', (xml, reason) => {
    expect(() => parseRegInfo(xml)).toThrow(RegInfoError);
    expect(() => parseRegInfo(xml)).toThrow(reason);
  });
});

describe('user profile (TS 29.228 Annex E)', () => {
  it('reads the implicit set in order with barring, from the HSS generator', () => {
    const p = parseUserProfile(imsSubscriptionXml(ALICE));
    expect(p.privateId).toBe(ALICE.impi);
    expect(p.identities).toEqual([
      { uri: `sip:alice@${DOMAIN}`, barred: false, serviceProfile: 0 },
      { uri: 'tel:+15550001', barred: false, serviceProfile: 0 },
      { uri: `sip:alice-hidden@${DOMAIN}`, barred: true, serviceProfile: 0 },
    ]);
  });

  it('keeps initial filter criteria per service profile and unescapes identities', () => {
    const xml = `<IMSSubscription><PrivateID>a@b</PrivateID><ServiceProfile><PublicIdentity><Identity>sip:a&amp;x@b</Identity></PublicIdentity><InitialFilterCriteria><Priority>0</Priority></InitialFilterCriteria></ServiceProfile><ServiceProfile><PublicIdentity><BarringIndication>1</BarringIndication><Identity>tel:+1</Identity></PublicIdentity></ServiceProfile></IMSSubscription>`;
    const p = parseUserProfile(xml);
    expect(p.identities.map((i) => [i.uri, i.barred, i.serviceProfile])).toEqual([['sip:a&x@b', false, 0], ['tel:+1', true, 1]]);
    expect(p.initialFilterCriteria).toEqual([['<Priority>0</Priority>'], []]);
  });

  it.each([
    ['<IMSSubscription><ServiceProfile/></IMSSubscription>', 'PrivateID'],
    ['<IMSSubscription><PrivateID>a@b</PrivateID></IMSSubscription>', 'ServiceProfile'],
    ['<IMSSubscription><PrivateID>a@b</PrivateID><ServiceProfile><PublicIdentity></PublicIdentity></ServiceProfile></IMSSubscription>', 'no <Identity>'],
    ['<IMSSubscription><PrivateID>a@b</PrivateID><ServiceProfile><PublicIdentity><Identity>x', 'not closed'],
  ])('refuses %s', (xml, reason) => {
    expect(() => parseUserProfile(xml)).toThrow(ProfileError);
    expect(() => parseUserProfile(xml)).toThrow(reason);
  });
});

describe('S-CSCF selection and UAA mapping (TS 29.228 §6.7, TS 24.229 §5.3.1.2)', () => {
  const dir = new Directory(
    [
      { name: 's1', kind: 'scscf', address: '127.0.42.31', ports: { udp: 5060 }, domain: DOMAIN },
      { name: 's2', kind: 'scscf', address: '127.0.42.32', ports: { udp: 5070, tcp: 5071 }, domain: DOMAIN },
      { name: 's3', kind: 'scscf', address: '127.0.42.33', ports: { udp: 5060 }, domain: DOMAIN },
    ],
    DOMAIN,
  );
  const candidates = [
    { name: 's1', serverName: 'sip:127.0.42.31:5060', capabilities: [1] },
    { name: 's2', serverName: `sip:s2.${DOMAIN}:5070`, capabilities: [1, 2, 7] },
    { name: 's3', serverName: 'sip:127.0.42.33:5060', capabilities: [1, 2] },
  ];

  it('keeps only those with every mandatory capability, most optional ones first, HSS-named ones before all', () => {
    const pick = (m: number[], o: number[], n: string[] = []) => selectScscfs(candidates, { mandatoryCapabilities: m, optionalCapabilities: o, serverNames: n }, dir).map((c) => c.name);
    expect(pick([], [])).toEqual(['s1', 's2', 's3']);
    expect(pick([2], [])).toEqual(['s2', 's3']);
    expect(pick([1], [7])).toEqual(['s2', 's1', 's3']);
    expect(pick([1], [], ['sip:127.0.42.33:5060'])).toEqual(['s3', 's1', 's2']);
    expect(pick([9], [])).toEqual([]);
  });

  it('resolves Server-Names by FQDN or IP through the directory, with port and transport', () => {
    expect(resolveServerName(`sip:s2.${DOMAIN}:5070`, dir)).toEqual({ transport: 'udp', address: '127.0.42.32', port: 5070 });
    expect(resolveServerName(`sip:s2.${DOMAIN};transport=tcp`, dir)).toEqual({ transport: 'tcp', address: '127.0.42.32', port: 5071 });
    expect(resolveServerName('sip:127.0.42.31', dir)).toEqual({ transport: 'udp', address: '127.0.42.31', port: 5060 });
    expect(resolveServerName('sip:unknown.example:5060', dir)).toBeUndefined();
    expect(resolveServerName('not a uri', dir)).toBeUndefined();
  });

  it('maps UAA results to SIP', () => {
    expect(uaaRefusal(undefined, 2001)).toBeUndefined();
    expect(uaaRefusal(undefined, 2002)).toBeUndefined();
    expect(uaaRefusal(2001, undefined)).toBeUndefined();
    for (const x of [5001, 5002, 5003, 5004]) expect(uaaRefusal(undefined, x)?.status).toBe(403);
    expect(uaaRefusal(5003, undefined)?.status).toBe(403);
    expect(uaaRefusal(3004, undefined)?.status).toBe(480);
    expect(uaaRefusal(5012, undefined)?.status).toBe(500);
  });

  it('derives the private identity from the public one when there is no Authorization', () => {
    expect(derivePrivateIdentity('sip:alice@ims.lab.test', 'home.test')).toBe('alice@ims.lab.test');
    expect(derivePrivateIdentity('tel:+1-555-0001', 'home.test')).toBe('+15550001@home.test');
  });
});

describe('challenges and their answers (TS 33.203 §6.1, RFC 3310, RFC 4169)', () => {
  const random = new SeededRandom(7);
  const opc = computeOpc(K, OP);
  const v = generateVector({ k: K, opc, sqn: 0x21n, amf: Buffer.from('8000', 'hex'), rand: random.bytes(16) });
  const item = (scheme: string) => ({ authenticationScheme: scheme, authenticate: Buffer.concat([v.rand, v.autn]), authorization: v.xres, confidentialityKey: v.ck, integrityKey: v.ik });
  const ctx = { impi: 'alice@x', impu: 'sip:alice@x', realm: 'x', random, now: 0, lifetimeMs: 1000 };

  function answer(header: string, password: Buffer | string, over: Partial<Record<string, string>> = {}) {
    const ch = parseChallenge(header);
    const response = computeDigestResponse({ username: 'alice@x', realm: ch.realm!, password, method: 'REGISTER', uri: 'sip:x', nonce: ch.nonce!, qop: 'auth', nc: 1, cnonce: 'abc', algorithm: ch.algorithm! });
    const params: Array<[string, string]> = [['username', 'alice@x'], ['realm', ch.realm!], ['nonce', ch.nonce!], ['uri', 'sip:x'], ['algorithm', ch.algorithm!], ['qop', 'auth'], ['nc', '00000001'], ['cnonce', 'abc'], ['response', response]];
    return parseCredentials(formatCredentials(params.map(([k, val]) => [k, over[k] ?? val] as [string, string])));
  }

  it('AKAv1: RES as the password verifies; anything else does not', () => {
    const { challenge, header } = makeChallenge(item('Digest-AKAv1-MD5'), ctx);
    const req = new SipRequest('REGISTER', 'sip:x');
    expect(verifyAnswer(challenge, answer(header, akaPassword(1, v.xres)), req)).toEqual({ ok: true });
    expect(verifyAnswer(challenge, answer(header, Buffer.alloc(8)), req).ok).toBe(false);
    expect(verifyAnswer(challenge, answer(header, akaPassword(1, v.xres), { username: 'bob@x' }), req).ok).toBe(false);
    expect(verifyAnswer(challenge, answer(header, akaPassword(1, v.xres), { qop: 'auth-foo' }), req).ok).toBe(false);
    expect(verifyAnswer(challenge, answer(header, akaPassword(1, v.xres), { nc: '00000002' }), req).ok).toBe(false);
  });

  it('AKAv2: the RFC 4169 password (HMAC-MD5 of RES‖IK‖CK) verifies, the AKAv1 one does not', () => {
    const { challenge, header } = makeChallenge(item('Digest-AKAv2-MD5'), ctx);
    expect(parseChallenge(header).algorithm).toBe('AKAv2-MD5');
    const req = new SipRequest('REGISTER', 'sip:x');
    expect(verifyAnswer(challenge, answer(header, akaPassword(2, v.xres, v.ik, v.ck)), req)).toEqual({ ok: true });
    expect(verifyAnswer(challenge, answer(header, akaPassword(1, v.xres)), req).ok).toBe(false);
  });

  it('SIP Digest: verified with H(A1) only', () => {
    const h = ha1({ username: 'alice@x', realm: 'x', password: 'pw' });
    const { challenge, header } = makeChallenge({ authenticationScheme: 'SIP Digest', digestAuthenticate: { realm: 'x', algorithm: 'MD5', qop: 'auth', ha1: h } }, ctx);
    const req = new SipRequest('REGISTER', 'sip:x');
    expect(verifyAnswer(challenge, answer(header, 'pw'), req)).toEqual({ ok: true });
    expect(verifyAnswer(challenge, answer(header, 'wrong'), req).ok).toBe(false);
  });

  it('refuses MAA items it cannot challenge with', () => {
    expect(() => makeChallenge({ authenticationScheme: 'Digest-AKAv1-MD5', authenticate: Buffer.alloc(10) }, ctx)).toThrow('lacks');
    expect(() => makeChallenge({ authenticationScheme: 'NASS-Bundled' }, ctx)).toThrow('cannot challenge');
  });

  it('the book: single use, expiry on the clock, at most 4 per IMPI', () => {
    const clock = new FakeClock();
    const book = new ChallengeBook(clock, 1000);
    const mk = (nonce: string) => ({ impi: 'a', impu: 'sip:a', nonce, realm: 'r', algorithm: 'MD5', qop: ['auth' as const], expiresAt: clock.now() + 1000 });
    book.add(mk('n1'));
    expect(book.take('a', 'n1')?.nonce).toBe('n1');
    expect(book.take('a', 'n1')).toBeUndefined();
    book.add(mk('n2'));
    clock.advance(1001);
    expect(book.take('a', 'n2')).toBeUndefined();
    for (const n of ['a1', 'a2', 'a3', 'a4', 'a5']) book.add(mk(n));
    expect(book.size).toBe(4);
    expect(book.take('a', 'a1')).toBeUndefined();
    expect(book.take('a', 'a5')?.nonce).toBe('a5');
  });

  it('MAR scheme from the offered algorithm', () => {
    expect(marScheme('AKAv1-MD5')).toBe('Digest-AKAv1-MD5');
    expect(marScheme('akav2-md5')).toBe('Digest-AKAv2-MD5');
    expect(marScheme('MD5')).toBe('SIP Digest');
    expect(marScheme(undefined)).toBe('Unknown');
  });
});

describe('registration store', () => {
  it('finds a registration by any identity of its implicit set, scheme and host case-insensitively, and hands out copies', () => {
    const s = new MemoryRegistrationStore();
    const profile = parseUserProfile(imsSubscriptionXml(ALICE));
    s.put({ impi: ALICE.impi, impus: profile.identities.map((p) => p.uri), barred: [], profile, contacts: [], ids: {} });
    expect(s.byImpu('SIP:alice@IMS.LAB.TEST')?.impi).toBe(ALICE.impi);
    expect(s.byImpu('<tel:+15550001>')?.impi).toBe(ALICE.impi);
    expect(s.byImpu('sip:Alice@ims.lab.test')).toBeUndefined();
    s.byImpi(ALICE.impi)!.impus.push('sip:intruder@x');
    expect(s.byImpu('sip:intruder@x')).toBeUndefined();
    expect(s.remove(ALICE.impi)).toBe(true);
    expect(s.byImpu('tel:+15550001')).toBeUndefined();
    expect(impuKey('sips:bob@Example.COM;user=phone')).toBe('sip:bob@example.com');
  });
});
