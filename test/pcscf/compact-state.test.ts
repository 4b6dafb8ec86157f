import { describe, expect, it } from 'vitest';
import { RegistrationCache, saIndexKey, type PcscfRegistration } from '../../src/pcscf/registration-cache.js';
import { chooseIpsec, formatServerMechanism, mechanismsOf, readOffers } from '../../src/pcscf/sec-agree.js';
import { newSecurityAssociation, PENDING_SA_LIFETIME_MS, PendingSecurityAssociations, saKey, saKeyOf } from '../../src/pcscf/security-associations.js';
import { Headers } from '../../src/sip/message.js';
import { FakeClock } from '../../src/util/clock.js';
import { ownString } from '../../src/util/own-string.js';
import { SeededRandom } from '../../src/util/random.js';

// Issue 7: what the P-CSCF keeps per registration is smaller, and must say exactly what it said before.
describe('P-CSCF per-registration state, compact', () => {
  const offerHeaders = Headers.from([['Security-Client', 'ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=1111;spi-s=2222;port-c=5063;port-s=5064']]);
  const { offer, choice } = chooseIpsec(readOffers(offerHeaders), { portC: 5065, portS: 5066 }, new SeededRandom(1));
  const sa = newSecurityAssociation({ ueAddress: '10.0.0.9', transport: 'udp', ue: offer, pcscf: choice, keys: { ck: 'a'.repeat(32), ik: 'b'.repeat(32) }, state: 'pending', createdAt: 5, impi: 'u@ims.lab' });

  it('derives the Security-Server an SA sent from its choice, as the 401 carried it', () => {
    expect(sa.sent).toEqual(mechanismsOf(formatServerMechanism(choice)));
    expect(sa.ue).toEqual(offer);
    expect(sa.ue).not.toBe(offer);
    expect(sa.keys).toEqual({ ck: 'a'.repeat(32), ik: 'b'.repeat(32) });
    sa.state = 'in-use';
    expect(sa.state).toBe('in-use');
  });

  it('gives back createdAt exactly and takes a new one: epoch-ms, earlier, far-off and fractional times', () => {
    const make = (createdAt: number) => newSecurityAssociation({ ueAddress: '10.0.0.9', transport: 'udp', ue: offer, pcscf: choice, keys: { ck: 'c', ik: 'i' }, state: 'pending', createdAt });
    const at = 1_764_000_000_000;
    for (const t of [at, at - 86_400_000, at + 40 * 86_400_000, at + 0.5, 0, -1, Number.MAX_SAFE_INTEGER]) expect(make(t).createdAt).toBe(t);
    const one = make(at + 0.5);
    one.createdAt = at + 7;
    expect(one.createdAt).toBe(at + 7);
    one.createdAt = 3.25;
    expect(one.createdAt).toBe(3.25);
  });

  it('gives back offer and choice exactly, at the edges of SPI and port ranges and with names outside TS 33.203 §7.2', () => {
    const edge = { spiC: 0xffffffff, spiS: 1, portC: 65535, portS: 0 };
    const odd = newSecurityAssociation({
      ueAddress: '::1', transport: 'tcp', ue: { ...edge, alg: 'hmac-sha-256-128', prot: 'esp', mod: 'UDP-enc-tun' },
      pcscf: { spiC: 0x80000000, spiS: 2, portC: 5065, portS: 65535, alg: 'hmac-md5-96', ealg: 'aes-cbc', prot: 'ah', mod: 'tun' },
      keys: { ck: 'c', ik: 'i' }, state: 'pending', createdAt: 1,
    });
    expect(odd.ue).toStrictEqual({ ...edge, alg: 'hmac-sha-256-128', prot: 'esp', mod: 'UDP-enc-tun' });
    expect(odd.pcscf).toStrictEqual({ spiC: 0x80000000, spiS: 2, portC: 5065, portS: 65535, alg: 'hmac-md5-96', ealg: 'aes-cbc', prot: 'ah', mod: 'tun' });
    expect(sa.pcscf).toStrictEqual({ ...choice });
    const base = { ueAddress: '::1', transport: 'udp' as const, pcscf: choice, keys: { ck: 'c', ik: 'i' }, state: 'pending' as const, createdAt: 1 };
    expect(() => newSecurityAssociation({ ...base, ue: { ...edge, spiC: 2 ** 32, alg: 'hmac-md5-96' } })).toThrow(/SPI 4294967296/);
    expect(() => newSecurityAssociation({ ...base, ue: { ...edge, portS: 65536, alg: 'hmac-md5-96' } })).toThrow(/port 65535\/65536/);
    expect(sa.ue).toStrictEqual({ ...offer });
  });

  it('gives back a registration equal to the one put, optional fields included, and expires the current deadline only', () => {
    const clock = new FakeClock(0);
    const cache = new RegistrationCache(clock);
    const removed: string[] = [];
    cache.changes$.subscribe((c) => c.kind === 'removed' && removed.push(`${c.registration.contact} ${c.reason}`));
    const full: PcscfRegistration = {
      contact: 'sip:u@10.0.0.9:5064', instance: '<urn:uuid:1>', impi: 'u@ims.lab', impus: ['sip:u@ims.lab', 'tel:+1'], registeredImpu: 'sip:u@ims.lab',
      serviceRoute: ['<sip:orig@scscf.ims.lab;lr>'], path: '<sip:term@pcscf.ims.lab;lr>', ue: { transport: 'tcp', address: '10.0.0.9', port: 5063 },
      connectionId: 'tcp-7', callId: 'call-1', registeredAt: 0, refreshedAt: 0, expiresAt: 1000, authentication: 'ims-aka', sa,
    };
    const bare: PcscfRegistration = { ...full, contact: 'sip:v@10.0.0.8', ue: { transport: 'udp', address: '10.0.0.8', port: 5060 }, expiresAt: 3000 };
    for (const k of ['instance', 'impi', 'connectionId', 'authentication', 'sa'] as const) delete bare[k];
    cache.put(full);
    cache.put(bare);
    expect(fields(cache.get(full.contact)!)).toStrictEqual(full);
    expect(cache.get(full.contact)!.sa).toBe(sa);
    expect(fields(cache.get(bare.contact)!)).toStrictEqual(bare);
    // What a reader gets cannot change what is held: `ue` is its own, an implicit set of several is frozen.
    (cache.get(full.contact)!.ue as { port: number }).port = 1;
    expect(() => (cache.get(full.contact)!.impus as string[]).push('sip:intruder@ims.lab')).toThrow(TypeError);
    expect(fields(cache.get(full.contact)!)).toStrictEqual(full);
    // Refreshed before its first deadline: that deadline passes without removing it.
    clock.advance(900);
    cache.put({ ...full, refreshedAt: 900, expiresAt: 2000 });
    clock.advance(200);
    expect(removed).toEqual([]);
    clock.advance(900);
    expect(removed).toEqual(['sip:u@10.0.0.9:5064 expired']);
    clock.advance(1000);
    expect(removed).toEqual(['sip:u@10.0.0.9:5064 expired', 'sip:v@10.0.0.8 expired']);
    expect(clock.pending).toBe(0);
  });

  it('keeps index order when a value goes from one contact to several and back', () => {
    const cache = new RegistrationCache(new FakeClock(0));
    const at = (user: string): PcscfRegistration => ({
      contact: `sip:${user}@10.0.0.1`, impus: ['sip:shared@ims.lab'], registeredImpu: 'sip:shared@ims.lab', serviceRoute: [], path: 'p',
      ue: { transport: 'udp', address: '10.0.0.1', port: 5060 }, callId: user, registeredAt: 0, refreshedAt: 0, expiresAt: 10_000,
    });
    for (const u of ['a', 'b', 'c']) cache.put(at(u));
    expect(cache.byImpu('sip:shared@ims.lab').map((r) => r.callId)).toEqual(['a', 'b', 'c']);
    cache.remove('sip:a@10.0.0.1', 'deregistered');
    cache.remove('sip:c@10.0.0.1', 'deregistered');
    expect(cache.byUe('10.0.0.1', 5060).map((r) => r.callId)).toEqual(['b']);
    cache.put(at('d'));
    expect(cache.byImpu('sip:shared@ims.lab').map((r) => r.callId)).toEqual(['b', 'd']);
    cache.remove('sip:b@10.0.0.1', 'deregistered');
    cache.remove('sip:d@10.0.0.1', 'deregistered');
    expect(cache.byUe('10.0.0.1')).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('finds registrations by address and port as an address goes from one registration to several and back', () => {
    const cache = new RegistrationCache(new FakeClock(0));
    const reg = (user: string, address: string, port: number): PcscfRegistration => ({
      contact: `sip:${user}@x`, impus: [`sip:${user}@ims.lab`], registeredImpu: `sip:${user}@ims.lab`, serviceRoute: [], path: 'p',
      ue: { transport: 'udp', address, port }, callId: user, registeredAt: 0, refreshedAt: 0, expiresAt: 10_000,
    });
    const at = (address: string, port?: number) => cache.byUe(address, port).map((r) => r.callId);
    cache.put(reg('a', '10.0.0.1', 5060));
    expect([at('10.0.0.1', 5060), at('10.0.0.1', 5062), at('10.0.0.1')]).toEqual([['a'], [], ['a']]);
    cache.put(reg('a', '10.0.0.1', 5062)); // alone at its address, new port
    expect([at('10.0.0.1', 5060), at('10.0.0.1', 5062)]).toEqual([[], ['a']]);
    cache.put(reg('b', '10.0.0.1', 5060));
    cache.put(reg('c', '10.0.0.1', 5062));
    // Without a port: port by port, 5062 first (a was there before b came to 5060).
    expect([at('10.0.0.1', 5060), at('10.0.0.1', 5062), at('10.0.0.1')]).toEqual([['b'], ['a', 'c'], ['a', 'c', 'b']]);
    cache.put(reg('c', '10.0.0.1', 5060)); // shared address, new port
    expect([at('10.0.0.1', 5060), at('10.0.0.1', 5062)]).toEqual([['b', 'c'], ['a']]);
    cache.put(reg('b', '10.0.0.2', 5060)); // moves away
    expect([at('10.0.0.1', 5060), at('10.0.0.2', 5060), at('10.0.0.2', 5062)]).toEqual([['c'], ['b'], []]);
    cache.remove('sip:c@x', 'deregistered');
    expect([at('10.0.0.1', 5060), at('10.0.0.1', 5062), at('10.0.0.1')]).toEqual([[], ['a'], ['a']]);
    cache.put(reg('d', '10.0.0.1', 5062));
    expect([at('10.0.0.1', 5062), at('10.0.0.1')]).toEqual([['a', 'd'], ['a', 'd']]);
    cache.remove('sip:a@x', 'deregistered');
    cache.remove('sip:d@x', 'deregistered');
    cache.remove('sip:b@x', 'deregistered');
    expect([at('10.0.0.1'), at('10.0.0.1', 5062), at('10.0.0.2', 5060)]).toEqual([[], [], []]);
    expect(cache.size).toBe(0);
  });

  it('answers byUe and bySa as a scan of every registration would, through 3,000 random puts, moves and removals', () => {
    const cache = new RegistrationCache(new FakeClock(0));
    let x = 99;
    // The high bits of the generator: its low bits repeat with a short period (x % 8 cycles every 8 steps).
    const next = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), Math.floor((x / 2 ** 31) * n));
    const sas = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((a) =>
      [1000, 2000].map((spi) => {
        const offer = { spiC: spi, spiS: spi + 1, portC: 5063, portS: 5064, alg: 'hmac-sha-1-96' };
        const choice = { spiC: 9000, spiS: 9001, portC: 5065, portS: 5066, alg: 'hmac-sha-1-96', ealg: 'null', prot: 'esp', mod: 'trans' };
        return newSecurityAssociation({ ueAddress: `10.0.0.${a}`, transport: 'udp', ue: offer, pcscf: choice, keys: { ck: 'c', ik: 'i' }, state: 'in-use', createdAt: 0 });
      }),
    );
    for (let step = 0; step < 3000; step++) {
      const user = `u${next(12)}`;
      if (next(4) === 0) cache.remove(`sip:${user}@x`, 'deregistered');
      else {
        // Eight addresses for twelve users: some alone at theirs, some sharing (NAT), going back and forth.
        const address = next(8);
        // Mostly the SA of the registration's own address; sometimes another's, sometimes none.
        const pick = next(8);
        const sa = pick === 0 ? undefined : pick === 1 ? sas[next(sas.length)] : sas[2 * address + next(2)];
        cache.put({
          contact: `sip:${user}@x`, impus: [`sip:${user}@ims.lab`], registeredImpu: `sip:${user}@ims.lab`, serviceRoute: [], path: 'p',
          ue: { transport: 'udp', address: `10.0.0.${address}`, port: 5060 + next(2) }, callId: user, registeredAt: 0, refreshedAt: 0, expiresAt: 10_000,
          ...(sa ? { sa } : {}),
        });
      }
      for (let a = 0; a < 8; a++) {
        for (const port of [5060, 5061]) {
          // As sets: among several registrations at one endpoint the order is the index's, which a move breaks from list()'s.
          const want = cache.list().filter((r) => r.ue.address === `10.0.0.${a}` && r.ue.port === port).map((r) => r.callId);
          expect(cache.byUe(`10.0.0.${a}`, port).map((r) => r.callId).sort()).toEqual(want.sort());
        }
        for (const spi of [1000, 2000, 3000]) {
          const ue = { spiC: spi, spiS: spi + 1 };
          const scan = cache.list().filter((r) => r.sa?.ueAddress === `10.0.0.${a}` && r.sa.ue.spiC === ue.spiC && r.sa.ue.spiS === ue.spiS);
          expect(cache.bySa(`10.0.0.${a}`, ue).map((r) => r.callId).sort()).toEqual(scan.map((r) => r.callId).sort());
        }
      }
    }
  });

  it('tells apart SA pairs whose index keys collide: each registration is found by its own SPIs only', () => {
    // Birthday search for two SPI pairs of one address under one 30-bit key (≈ 40,000 tries expected).
    const seen = new Map<number, number>();
    let pair: [number, number] | undefined;
    for (let spi = 1; !pair && spi < 2_000_000; spi += 2) {
      const k = saIndexKey('10.0.0.1', { spiC: spi, spiS: spi + 1 });
      const other = seen.get(k);
      if (other !== undefined) pair = [other, spi];
      else seen.set(k, spi);
    }
    expect(pair).toBeDefined();
    const [a, b] = pair!;
    expect(saIndexKey('10.0.0.1', { spiC: a, spiS: a + 1 })).toBe(saIndexKey('10.0.0.1', { spiC: b, spiS: b + 1 }));
    const cache = new RegistrationCache(new FakeClock(0));
    const reg = (user: string, spi: number): PcscfRegistration => ({
      contact: `sip:${user}@x`, impus: [`sip:${user}@ims.lab`], registeredImpu: `sip:${user}@ims.lab`, serviceRoute: [], path: 'p',
      ue: { transport: 'udp', address: '10.0.0.1', port: 5060 }, callId: user, registeredAt: 0, refreshedAt: 0, expiresAt: 10_000,
      sa: newSecurityAssociation({ ueAddress: '10.0.0.1', transport: 'udp', ue: { ...offer, spiC: spi, spiS: spi + 1 }, pcscf: choice, keys: { ck: 'c', ik: 'i' }, state: 'in-use', createdAt: 0 }),
    });
    cache.put(reg('a', a));
    cache.put(reg('b', b)); // the address is shared now: both are in the SA index, under one key
    expect(cache.bySa('10.0.0.1', { spiC: a, spiS: a + 1 }).map((r) => r.callId)).toEqual(['a']);
    expect(cache.bySa('10.0.0.1', { spiC: b, spiS: b + 1 }).map((r) => r.callId)).toEqual(['b']);
    expect(cache.bySa('10.0.0.1', { spiC: a, spiS: b + 1 })).toEqual([]);
    cache.remove('sip:a@x', 'deregistered');
    expect(cache.bySa('10.0.0.1', { spiC: a, spiS: a + 1 })).toEqual([]);
    expect(cache.bySa('10.0.0.1', { spiC: b, spiS: b + 1 }).map((r) => r.callId)).toEqual(['b']);
  });

  it('expires each pending SA a lifetime after it was added, on one timer, a re-added pair counting from then', () => {
    const clock = new FakeClock(0);
    const sas = new PendingSecurityAssociations(clock);
    const pending = (spi: number, address = '10.0.0.9') =>
      newSecurityAssociation({ ueAddress: address, transport: 'udp', ue: { ...offer, spiC: spi, spiS: spi + 1 }, pcscf: choice, keys: { ck: 'c', ik: 'i' }, state: 'pending', createdAt: clock.now() });
    const a = pending(100);
    const b = pending(200);
    const c = pending(300);
    sas.add(a);
    clock.advance(1000);
    sas.add(b);
    sas.add(c);
    expect(clock.pending).toBe(1);
    clock.advance(1000);
    // The same SPIs again (a new 401): the new pair replaces the old and lives a whole lifetime from now.
    const a2 = pending(100);
    sas.add(a2);
    sas.delete(c);
    sas.delete(a); // no longer the pending one under its key: nothing happens
    expect(sas.get('10.0.0.9', { spiC: 100, spiS: 101 })).toBe(a2);
    expect(sas.size).toBe(2);
    // b was added at 1 s: it is there until 1 s + the lifetime, and not at that instant.
    clock.advance(PENDING_SA_LIFETIME_MS - 1001);
    expect(sas.get('10.0.0.9', { spiC: 200, spiS: 201 })).toBe(b);
    clock.advance(1);
    expect(sas.get('10.0.0.9', { spiC: 200, spiS: 201 })).toBeUndefined();
    expect(sas.get('10.0.0.9', { spiC: 100, spiS: 101 })).toBe(a2);
    clock.advance(999);
    expect(sas.size).toBe(1);
    clock.advance(1);
    expect(sas.size).toBe(0);
    expect(clock.pending).toBe(0);
    sas.add(pending(400));
    sas.clear();
    expect(sas.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('keys an SA by address and SPIs as flat strings, read from its fields', () => {
    expect(saKeyOf(sa)).toBe(`10.0.0.9|${offer.spiC}|${offer.spiS}`);
    expect(saKey('::1', { spiC: 4294967295, spiS: 256 })).toBe('::1|4294967295|256');
  });

  it('gives back CK and IK exactly as the 401 carried them, hex or not (TS 33.203 §7.1), and transport and state as set', () => {
    const make = (ck: string, ik: string) =>
      newSecurityAssociation({ ueAddress: '10.0.0.9', transport: 'tls', ue: offer, pcscf: choice, keys: { ck, ik }, state: 'pending', createdAt: 1 });
    const cases: [string, string][] = [
      ['00ff7f80a1b2c3d4e5f60718293a4b5c', 'ffffffffffffffffffffffffffffffff'],
      ['', ''],
      ['0A0B', 'c0de'], // uppercase hex is not what Buffer gives back: kept as written
      ['abc', 'de'], // odd length
      ['not hex', 'ü€'],
      ['ab', 'x'.repeat(70_000)], // of two lengths
      ['', 'ab'],
      ['abcd', '0123'], // hex of one length
    ];
    for (const [ck, ik] of cases) expect(make(ck, ik).keys).toStrictEqual({ ck, ik });
    const one = make('ab', 'cd');
    expect([one.transport, one.state]).toEqual(['tls', 'pending']);
    one.state = 'in-use';
    one.transport = 'udp';
    expect([one.transport, one.state, one.keys]).toEqual(['udp', 'in-use', { ck: 'ab', ik: 'cd' }]);
    expect(() => (one.state = 'gone' as 'pending')).toThrow(/SA state gone/);
    expect(() => (one.transport = 'sctp' as 'udp')).toThrow(/transport sctp/);
    expect([one.transport, one.state]).toEqual(['udp', 'in-use']);
    expect(() => newSecurityAssociation({ ueAddress: '10.0.0.9', transport: 'ws' as 'udp', ue: offer, pcscf: choice, keys: { ck: '', ik: '' }, state: 'pending', createdAt: 1 })).toThrow(/transport ws/);
  });

  it('gives back the registered IMPU whether first of the implicit set, later in it or outside it, and finds it by each', () => {
    const cache = new RegistrationCache(new FakeClock(0));
    const reg = (user: string, impus: string[], registeredImpu: string): PcscfRegistration => ({
      contact: `sip:${user}@10.0.0.5`, impus, registeredImpu, serviceRoute: [], path: 'p',
      ue: { transport: 'udp', address: '10.0.0.5', port: 5060 }, callId: user, registeredAt: 0, refreshedAt: 0, expiresAt: 10_000,
    });
    const cases = [
      reg('a', ['sip:a@ims.lab', 'tel:+1'], 'sip:a@ims.lab'),
      reg('b', ['sip:b@ims.lab', 'tel:+2'], 'tel:+2'),
      reg('c', ['sip:c@ims.lab'], 'sip:c-alias@ims.lab'),
      reg('d', [], 'sip:d@ims.lab'),
    ];
    for (const r of cases) cache.put(r);
    for (const r of cases) {
      expect(fields(cache.get(r.contact)!)).toStrictEqual(r);
      expect(cache.byImpu(r.registeredImpu).map((x) => x.contact)).toEqual([r.contact]);
    }
  });

  it('gives back the IMPI as put, whether the SA in use has the same, another or none', () => {
    const cache = new RegistrationCache(new FakeClock(0));
    const base = (user: string): PcscfRegistration => ({
      contact: `sip:${user}@10.0.0.6`, impus: [`sip:${user}@ims.lab`], registeredImpu: `sip:${user}@ims.lab`, serviceRoute: ['<sip:orig@scscf;lr>'], path: 'p',
      ue: { transport: 'udp', address: '10.0.0.6', port: 5060 }, callId: user, registeredAt: 0, refreshedAt: 0, expiresAt: 10_000,
    });
    const cases: PcscfRegistration[] = [
      { ...base('a'), impi: 'u@ims.lab', sa }, // the SA's
      { ...base('b'), impi: 'other@ims.lab', sa },
      { ...base('c'), sa }, // none, though the SA names one
      { ...base('d'), impi: 'd@ims.lab' },
    ];
    for (const r of cases) cache.put(r);
    for (const r of cases) expect(fields(cache.get(r.contact)!)).toStrictEqual(r);
    expect(cases.map((r) => cache.get(r.contact)!.impi)).toEqual(['u@ims.lab', 'other@ims.lab', undefined, 'd@ims.lab']);
  });

  it('gives back the IMPI an SA was made with, and one set later, beside keys of every form', () => {
    const make = (impi: string | undefined, ck: string, ik: string) =>
      newSecurityAssociation({ ueAddress: '10.0.0.9', transport: 'udp', ue: offer, pcscf: choice, keys: { ck, ik }, state: 'pending', createdAt: 1, ...(impi !== undefined ? { impi } : {}) });
    const impis = [undefined, '', 'u@ims.lab', 'é@ims.lab', 'ü€@ims.lab', 'x'.repeat(126), 'y'.repeat(127), '001010000000001@ims.mnc001.mcc001.3gppnetwork.org'];
    const keys: [string, string][] = [['00ff7f80a1b2c3d4e5f60718293a4b5c', 'ffffffffffffffffffffffffffffffff'], ['not hex', 'ü€ hex'], ['ab', 'cde'], ['', '']];
    for (const impi of impis) {
      for (const [ck, ik] of keys) {
        const sa = make(impi, ck, ik);
        expect([sa.impi, sa.keys]).toStrictEqual([impi, { ck, ik }]);
        for (const again of ['v@ims.lab', undefined, 'w'.repeat(200), impi]) {
          sa.impi = again;
          expect([sa.impi, sa.keys]).toStrictEqual([again, { ck, ik }]);
        }
      }
    }
  });

  it("gives back a registration's times exactly, epoch-ms, fractional and far off, and refuses what it cannot hold", () => {
    const cache = new RegistrationCache(new FakeClock(0));
    const base: PcscfRegistration = {
      contact: 'sip:t@10.0.0.7', impus: ['sip:t@ims.lab'], registeredImpu: 'sip:t@ims.lab', serviceRoute: [], path: 'p',
      ue: { transport: 'udp', address: '10.0.0.7', port: 65535 }, callId: 'c', registeredAt: 0, refreshedAt: 0, expiresAt: 0,
    };
    const at = 1_764_000_000_000;
    for (const [registeredAt, refreshedAt, expiresAt] of [
      [at, at + 1, at + 600_000],
      [at - 86_400_000, at + 0.5, at + 40 * 86_400_000],
      [0, -1, Number.MAX_SAFE_INTEGER],
      [3.25, at, Infinity],
    ]) {
      const reg = { ...base, registeredAt: registeredAt!, refreshedAt: refreshedAt!, expiresAt: expiresAt!, authentication: 'sip-digest' as const };
      cache.put(reg);
      expect(fields(cache.get(reg.contact)!)).toStrictEqual(reg);
    }
    // A port beyond 16 bits (RFC 768) or an unknown transport: refused, the registration held stays as it was.
    const held = fields(cache.get(base.contact)!);
    expect(() => cache.put({ ...base, ue: { ...base.ue, port: 65536 } })).toThrow(/port 65536/);
    expect(() => cache.put({ ...base, ue: { ...base.ue, transport: 'sctp' as 'udp' } })).toThrow(/transport sctp/);
    expect(fields(cache.get(base.contact)!)).toStrictEqual(held);
    expect(cache.byUe('10.0.0.7', 65535)).toHaveLength(1);
    expect(cache.size).toBe(1);
  });

  it('ownString copies exactly, lone surrogates included', () => {
    const message = `REGISTER sip:ims.lab SIP/2.0\r\nCall-ID: ${'x'.repeat(40)}\r\n`;
    const cut = message.slice(message.indexOf('Call-ID: ') + 9, -2);
    expect(ownString(cut)).toBe('x'.repeat(40));
    expect(ownString('short')).toBe('short');
    const odd = 'sip:\ud800abcdefghijklmnop@ims.lab';
    expect(ownString(odd)).toBe(odd);
    expect(ownString('sip:ü€😀@ims.lab.example')).toBe('sip:ü€😀@ims.lab.example');
  });
});

/** Every field of PcscfRegistration as the held registration reads it, absent ones left out. */
function fields(r: PcscfRegistration): PcscfRegistration {
  const keys = ['contact', 'instance', 'impi', 'impus', 'registeredImpu', 'serviceRoute', 'path', 'ue', 'connectionId', 'callId', 'registeredAt', 'refreshedAt', 'expiresAt', 'authentication', 'sa'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (r[k] !== undefined) out[k] = r[k];
  return out as unknown as PcscfRegistration;
}
