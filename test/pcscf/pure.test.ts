import { describe, expect, it } from 'vitest';
import {
  askedOffers,
  asksForIpsec,
  chooseIpsec,
  formatServerMechanism,
  markIntegrity,
  mechanismsOf,
  newChargingVector,
  pathValue,
  readAuthorizations,
  readOffers,
  readRegister,
  readVerify,
  RegistrationCache,
  requireOption,
  SecAgreeError,
  serverMechanism,
  setVisitedNetwork,
  stripSecAgree,
  takeCipherKeys,
  verifyMismatch,
  verifyMismatchOf,
  type PcscfRegistration,
} from '../../src/pcscf/index.js';
import { formatPChargingVector, parsePChargingVector } from '../../src/sip/headers/p-headers.js';
import { formatSecurityMechanism } from '../../src/sip/headers/security.js';
import { Headers, SipRequest } from '../../src/sip/message.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

const offer = 'ipsec-3gpp;alg=hmac-md5-96;spi-c=10;spi-s=11;port-c=5062;port-s=5064, ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=20;spi-s=21;port-c=5062;port-s=5064';

describe('sec-agree (RFC 3329, TS 33.203 §7)', () => {
  it('needs both an ipsec-3gpp Security-Client and sec-agree in Require or Proxy-Require', () => {
    const req = (h: Array<[string, string]>) => new SipRequest('REGISTER', 'sip:x', Headers.from(h));
    expect(asksForIpsec(req([['Security-Client', offer], ['Proxy-Require', 'sec-agree']]))).toBe(true);
    expect(asksForIpsec(req([['Security-Client', offer], ['Require', 'path, Sec-Agree']]))).toBe(true);
    expect(asksForIpsec(req([['Security-Client', offer]]))).toBe(false);
    expect(asksForIpsec(req([['Security-Client', 'tls;q=0.2'], ['Require', 'sec-agree']]))).toBe(false);
    expect(asksForIpsec(req([['Require', 'sec-agree']]))).toBe(false);
  });

  it('askedOffers reads Security-Client once: undefined where asksForIpsec says no, readOffers\' offers or error where it says yes', () => {
    const cases: Array<Array<[string, string]>> = [
      [['Security-Client', offer], ['Proxy-Require', 'sec-agree']],
      [['Security-Client', offer], ['Require', 'path, Sec-Agree']],
      [['Security-Client', offer]],
      [['Security-Client', 'tls;q=0.2'], ['Require', 'sec-agree']],
      [['Security-Client', 'tls;q=0.2, ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1'], ['Require', 'sec-agree']],
      [['Security-Client', ';;'], ['Require', 'sec-agree']],
      [['Require', 'sec-agree']],
    ];
    const outcome = (f: () => unknown) => {
      try {
        return f();
      } catch (e) {
        return { status: (e as SecAgreeError).status, message: (e as Error).message };
      }
    };
    const seen = cases.map((h) => {
      const headers = Headers.from(h);
      const asked = outcome(() => askedOffers(headers));
      const separate = asksForIpsec(new SipRequest('REGISTER', 'sip:x', headers)) ? outcome(() => readOffers(headers)) : undefined;
      expect(asked).toEqual(separate);
      return asked === undefined ? 'no' : Array.isArray(asked) ? asked.length : (asked as { status: number }).status;
    });
    expect(seen).toEqual([2, 2, 'no', 'no', 494, 400, 'no']);
  });

  it('chooses by its own preference (hmac-sha-1-96 first, then the strongest ealg offered) with fresh SPIs ≥ 256', () => {
    const offers = readOffers(Headers.from([['Security-Client', offer]]));
    expect(offers).toHaveLength(2);
    const { offer: chosen, choice } = chooseIpsec(offers, { portC: 5060, portS: 5060 }, new SeededRandom(1));
    expect(chosen.spiC).toBe(20);
    expect(choice).toMatchObject({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', portC: 5060, portS: 5060, prot: 'esp', mod: 'trans' });
    expect(choice.spiC).toBeGreaterThanOrEqual(256);
    expect(choice.spiS).not.toBe(choice.spiC);
    // Same seed, same SPIs: seeded runs reproduce.
    expect(chooseIpsec(offers, { portC: 5060, portS: 5060 }, new SeededRandom(1)).choice).toEqual(choice);
  });

  it('refuses offers it cannot use, with the status and the clause', () => {
    const bad = (v: string) => {
      try {
        const offers = readOffers(Headers.from([['Security-Client', v]]));
        chooseIpsec(offers, { portC: 1, portS: 1 }, new SeededRandom(1));
        return undefined;
      } catch (e) {
        return e as SecAgreeError;
      }
    };
    expect(bad('ipsec-3gpp;alg=hmac-sha-256;spi-c=1;spi-s=2;port-c=3;port-s=4')).toMatchObject({ status: 494, clause: 'TS 33.203 §7.1' });
    expect(bad('ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1')).toMatchObject({ status: 494, message: 'ipsec-3gpp offer lacks spi-s, port-c, port-s' });
    expect(bad('ipsec-3gpp;alg=hmac-sha-1-96;spi-c=99999999999;spi-s=2;port-c=3;port-s=4')?.status).toBe(400);
    expect(bad('digest;d-alg=md5')).toMatchObject({ status: 494 });
    expect(bad(';;')?.status).toBe(400);
  });

  it('writes Security-Server as the header codec formats the mechanism it stands for', () => {
    const offers = readOffers(Headers.from([['Security-Client', offer]]));
    for (let seed = 1; seed <= 20; seed++) {
      const { choice } = chooseIpsec(offers, { portC: 5060 + seed, portS: 65535 }, new SeededRandom(seed));
      expect(formatServerMechanism(choice)).toBe(formatSecurityMechanism(serverMechanism(choice)));
    }
    const odd = { alg: 'hmac-md5-96', ealg: 'null', prot: 'ah', mod: 'tun', spiC: 4294967295, spiS: 256, portC: 0, portS: 1 };
    expect(formatServerMechanism(odd)).toBe('ipsec-3gpp;q=0.1;prot=ah;mod=tun;spi-c=4294967295;spi-s=256;port-c=0;port-s=1;alg=hmac-md5-96;ealg=null');
    expect(formatServerMechanism(odd)).toBe(formatSecurityMechanism(serverMechanism(odd)));
  });

  it('checks Security-Verify parameter by parameter against what was sent, case-insensitively', () => {
    const { choice } = chooseIpsec(readOffers(Headers.from([['Security-Client', offer]])), { portC: 5060, portS: 5060 }, new SeededRandom(2));
    const server = formatServerMechanism(choice);
    const sent = mechanismsOf(server);
    expect(verifyMismatch(Headers.from([['Security-Verify', server]]), sent)).toBeUndefined();
    expect(verifyMismatch(Headers.from([['Security-Verify', server.replace('ipsec-3gpp', 'IPSEC-3GPP').replace('alg=', 'ALG=')]]), sent)).toBeUndefined();
    expect(verifyMismatch(Headers.from([['Security-Verify', server.replace(';ealg=aes-cbc', '')]]), sent)).toBe('ealg=(absent) where Security-Server said ealg=aes-cbc');
    expect(verifyMismatch(Headers.from([['Security-Verify', `${server}, tls;q=0.2`]]), sent)).toContain('lists 2 mechanism(s)');
    expect(verifyMismatch(new Headers(), sent)).toBe('no Security-Verify');
    // Read once, compared with each candidate: the same verdicts, a parameter only Security-Verify has included.
    const verify = readVerify(Headers.from([['Security-Verify', `${server};x=1`]]));
    expect(verifyMismatchOf(verify, sent)).toBe('x=1 where Security-Server said x=(absent)');
    expect(verifyMismatchOf(readVerify(Headers.from([['Security-Verify', server]])), sent)).toBeUndefined();
    expect(verifyMismatchOf(readVerify(Headers.from([['Security-Verify', 'ipsec-3gpp;;']])), sent)).toMatch(/^unreadable Security-Verify/);
  });

  it('strips Security-Client, Security-Verify and the sec-agree tag, dropping headers left empty', () => {
    const h = Headers.from([
      ['Security-Client', offer],
      ['Security-Verify', 'ipsec-3gpp;alg=x'],
      ['Require', 'sec-agree, path'],
      ['Proxy-Require', 'sec-agree'],
      ['Supported', 'path, sec-agree'],
    ]);
    expect(stripSecAgree(h)).toEqual(['Security-Client', 'Security-Verify', 'sec-agree in Require', 'sec-agree in Proxy-Require']);
    expect([...h.entries()]).toEqual([
      ['Require', 'path'],
      ['Supported', 'path, sec-agree'],
    ]);
  });
});

describe('REGISTER header edits (TS 24.229 §5.2.2.1)', () => {
  it('Path carries the IP address, the term user part and lr; transport only when not UDP', () => {
    expect(pathValue('127.0.1.1', 5060)).toBe('<sip:term@127.0.1.1:5060;lr>');
    expect(pathValue('::1', 5060, 'tcp')).toBe('<sip:term@[::1]:5060;transport=tcp;lr>');
  });

  it('adds path to Require once', () => {
    const h = Headers.from([['Require', 'foo']]);
    requireOption(h, 'path');
    requireOption(h, 'path');
    expect(h.getAll('Require')).toEqual(['foo, path']);
  });

  it('replaces a P-Visited-Network-ID and P-Charging-Vector the UE wrote', () => {
    const h = Headers.from([['P-Visited-Network-ID', '"forged"']]);
    setVisitedNetwork(h, 'visited.example');
    expect(h.getAll('P-Visited-Network-ID')).toEqual(['visited.example']);
    const v = parsePChargingVector(newChargingVector(new SeededRandom(3), '127.0.1.1', 'visited.example'));
    expect(v.icidValue).toMatch(/^[0-9a-f]{32}$/);
    expect(v.icidGeneratedAt).toBe('127.0.1.1');
    expect(v.origIoi).toBe('visited.example');
  });

  it('writes each P-Charging-Vector as the header codec formats it, for any generated-at and orig-ioi in turn', () => {
    for (const [at, ioi] of [['127.0.1.1', 'visited.example'], ['::1', 'visited.example'], ['127.0.1.1', 'other net'], ['127.0.1.1', 'visited.example']] as const) {
      const value = newChargingVector(new SeededRandom(4), at, ioi);
      const icid = new SeededRandom(4).token(32);
      expect(value).toBe(formatPChargingVector({ icidValue: icid, icidGeneratedAt: at, origIoi: ioi, params: new Map() }));
    }
    const h = new Headers();
    setVisitedNetwork(h, 'a b');
    setVisitedNetwork(h, 'visited.example');
    expect(h.getAll('P-Visited-Network-ID')).toEqual(['visited.example']);
    setVisitedNetwork(h, 'a b');
    expect(h.getAll('P-Visited-Network-ID')).toEqual(['"a b"']);
  });

  it('writes integrity-protected into Authorization, replacing a forged one', () => {
    const h = Headers.from([['Authorization', 'Digest username="a@b", realm="b", nonce="", uri="sip:b", response="", integrity-protected="yes"']]);
    expect(markIntegrity(h, 'no')).toBe(1);
    expect(h.get('Authorization')).toBe('Digest username="a@b", realm="b", nonce="", uri="sip:b", response="", integrity-protected="no"');
    expect(markIntegrity(new Headers(), 'yes')).toBe(0);
  });

  it('rewrites Authorization from the credentials read before, and reads a line anew when it is not the one read', () => {
    const line = 'Digest username="a@b", realm="b", nonce="", uri="sip:b", response=""';
    const read = readAuthorizations(Headers.from([['Authorization', line]]));
    // What was read is what gets written: a (doctored) username shows that the parsed form was used, not the line.
    read[0]!.credentials.username = 'kept@b';
    const h = Headers.from([['Authorization', line], ['Expires', '600']]);
    expect(markIntegrity(h, 'yes', read)).toBe(1);
    expect([...h.entries()]).toEqual([
      ['Expires', '600'],
      ['Authorization', 'Digest username="kept@b", realm="b", nonce="", uri="sip:b", response="", integrity-protected="yes"'],
    ]);
    expect(read[0]!.credentials.params.has('integrity-protected')).toBe(false);
    const other = Headers.from([['Authorization', 'Digest username="c@b", integrity-protected=yes']]);
    expect(markIntegrity(other, 'no', read)).toBe(1);
    expect(other.get('Authorization')).toBe('Digest username="c@b", integrity-protected="no"');
    expect(() => readAuthorizations(Headers.from([['Authorization', 'Digest nc=1']]))).toThrow(/bad nc/);
  });

  it('takes ck and ik out of every challenge and returns them', () => {
    const h = Headers.from([
      ['WWW-Authenticate', 'Digest realm="r", nonce="abc", algorithm=AKAv1-MD5, qop="auth,auth-int", ck="0011", ik="2233"'],
      ['WWW-Authenticate', 'Digest realm="r", nonce="def", algorithm=MD5'],
    ]);
    expect(takeCipherKeys(h)).toEqual({ ck: '0011', ik: '2233' });
    expect(h.getAll('WWW-Authenticate')).toEqual(['Digest realm="r", nonce="abc", algorithm=AKAv1-MD5, qop="auth,auth-int"', 'Digest realm="r", nonce="def", algorithm=MD5']);
    expect(takeCipherKeys(h)).toBeUndefined();
  });

  it('readRegister names what is missing or unreadable', () => {
    const base: Array<[string, string]> = [['To', '<sip:a@b>'], ['From', '<sip:a@b>;tag=1'], ['Call-ID', 'c'], ['CSeq', '1 REGISTER'], ['Contact', '<sip:a@1.2.3.4>']];
    const r = (h: Array<[string, string]>) => readRegister(new SipRequest('REGISTER', 'sip:b', Headers.from(h)));
    expect(r(base)).toMatchObject({ impu: 'sip:a@b', callId: 'c' });
    expect(r(base.filter(([n]) => n !== 'Contact'))).toContain('REGISTER without Contact');
    expect(r(base.map(([n, v]) => (n === 'CSeq' ? [n, '1 INVITE'] : [n, v])))).toBe('CSeq method INVITE in a REGISTER');
    expect(r([...base, ['Authorization', 'Digest realm="unterminated']])).toMatch(/^unreadable REGISTER/);
  });
});

describe('RegistrationCache', () => {
  const reg = (contact: string, expiresAt: number): PcscfRegistration => ({
    contact, impus: ['sip:a@b', 'tel:+1'], registeredImpu: 'sip:a@b', serviceRoute: [], path: '<sip:term@1.1.1.1;lr>',
    ue: { transport: 'udp', address: '127.0.0.9', port: 5060 }, callId: 'c', registeredAt: 0, refreshedAt: 0, expiresAt,
  });

  it('expires, refreshes and reports every change', () => {
    const clock = new FakeClock(0);
    const cache = new RegistrationCache(clock);
    const seen: string[] = [];
    cache.changes$.subscribe((c) => seen.push(`${c.kind}${c.kind === 'removed' ? ':' + c.reason : ''}`));
    cache.put(reg('sip:ue@127.0.0.9', 1000));
    clock.advance(900);
    cache.put(reg('SIP:UE@127.0.0.9', 2000)); // same contact, refreshed
    clock.advance(200);
    expect(cache.size).toBe(1);
    expect(cache.byImpu('TEL:+1')).toHaveLength(1);
    expect(cache.byUe('127.0.0.9', 5060)).toHaveLength(1);
    clock.advance(1000);
    expect(cache.size).toBe(0);
    expect(seen).toEqual(['registered', 'refreshed', 'removed:expired']);
    expect(clock.pending).toBe(0);
  });

  it('finds registrations by UE address and by IMPU through indexes that follow refreshes and removals', () => {
    const cache = new RegistrationCache(new FakeClock(0));
    const at = (i: number, address: string, port: number, impus: string[]): PcscfRegistration => ({
      ...reg(`sip:ue${i}@${address}:${port}`, 10_000), impus, registeredImpu: impus[0]!, ue: { transport: 'udp', address, port },
    });
    for (let i = 0; i < 1000; i++) cache.put(at(i, `127.0.1.${i % 250}`, 5060 + (i % 4), [`sip:u${i}@ims.lab`, `tel:+${i}`]));
    const contacts = (regs: PcscfRegistration[]) => regs.map((r) => r.contact);
    // Port by port, in the order each port first held a registration; on one port, in the order they came.
    expect(contacts(cache.byUe('127.0.1.7'))).toEqual(['sip:ue7@127.0.1.7:5063', 'sip:ue507@127.0.1.7:5063', 'sip:ue257@127.0.1.7:5061', 'sip:ue757@127.0.1.7:5061']);
    expect(contacts(cache.byUe('127.0.1.7', 5061))).toEqual(['sip:ue257@127.0.1.7:5061', 'sip:ue757@127.0.1.7:5061']);
    expect(contacts(cache.byImpu(' SIP:U42@IMS.LAB '))).toEqual(['sip:ue42@127.0.1.42:5062']);
    expect(cache.byUe('127.0.2.1')).toEqual([]);
    // A refresh that moves the UE and changes its implicit set moves it in both indexes.
    cache.put({ ...at(42, '127.0.1.42', 5062, ['sip:u42@ims.lab']), ue: { transport: 'udp', address: '127.0.9.9', port: 5062 } });
    expect(contacts(cache.byUe('127.0.1.42'))).toEqual(['sip:ue542@127.0.1.42:5062', 'sip:ue292@127.0.1.42:5060', 'sip:ue792@127.0.1.42:5060']);
    expect(contacts(cache.byUe('127.0.9.9'))).toEqual(['sip:ue42@127.0.1.42:5062']);
    expect(cache.byImpu('tel:+42')).toEqual([]);
    expect(contacts(cache.byImpu('sip:u42@ims.lab'))).toEqual(['sip:ue42@127.0.1.42:5062']);
    cache.remove('sip:ue42@127.0.1.42:5062', 'deregistered');
    expect(cache.byUe('127.0.9.9')).toEqual([]);
    expect(cache.byImpu('sip:u42@ims.lab')).toEqual([]);
    cache.clear();
    expect(cache.byUe('127.0.1.7')).toEqual([]);
    expect(cache.byImpu('tel:+7')).toEqual([]);
  });

  it('finds a registration by the SA pair it uses, and forgets the old pair when a re-registration brings a new one', () => {
    const cache = new RegistrationCache(new FakeClock(0));
    const withSa = (contact: string, spiC: number, spiS: number): PcscfRegistration => ({
      ...reg(contact, 10_000),
      sa: { ueAddress: '127.0.0.9', ue: { spiC, spiS } } as unknown as NonNullable<PcscfRegistration['sa']>,
    });
    cache.put(withSa('sip:a@127.0.0.9:5060', 1000, 1001));
    cache.put(withSa('sip:b@127.0.0.9:5062', 2000, 2001));
    expect(cache.bySa('127.0.0.9', { spiC: 1000, spiS: 1001 }).map((r) => r.contact)).toEqual(['sip:a@127.0.0.9:5060']);
    expect(cache.bySa('127.0.0.8', { spiC: 1000, spiS: 1001 })).toEqual([]);
    cache.put(withSa('sip:a@127.0.0.9:5060', 3000, 3001));
    expect(cache.bySa('127.0.0.9', { spiC: 1000, spiS: 1001 })).toEqual([]);
    expect(cache.bySa('127.0.0.9', { spiC: 3000, spiS: 3001 }).map((r) => r.contact)).toEqual(['sip:a@127.0.0.9:5060']);
    cache.remove('sip:b@127.0.0.9:5062', 'deregistered');
    expect(cache.bySa('127.0.0.9', { spiC: 2000, spiS: 2001 })).toEqual([]);
  });
});
