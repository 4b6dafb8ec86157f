import { describe, expect, it } from 'vitest';
import { imsSubscriptionXml } from '../../src/hss/user-data.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import type { Subscriber } from '../../src/hss/subscriber.js';
import { MemoryRegistrationStore, type SubscriptionRegistration } from '../../src/scscf/scscf/registration-store.js';
import { parseUserProfile } from '../../src/scscf/user-profile.js';

function subscriber(i: number, extra: Partial<Subscriber> = {}): Subscriber {
  return {
    impi: `u${i}@ims.lab`,
    impus: [{ uri: `sip:u${i}@ims.lab`, barred: false }, { uri: `tel:+1555${String(i).padStart(4, '0')}`, barred: i % 2 === 1 }],
    authSchemes: ['AKAv1-MD5'],
    k: Buffer.alloc(16, i),
    opc: Buffer.alloc(16, 0xa0 + (i & 15)),
    amf: Buffer.from([0x80, i & 255]),
    sqn: BigInt(2 ** 47 + i),
    allowedVisitedNetworks: [],
    ...extra,
  };
}

function registration(i: number): SubscriptionRegistration {
  const profile = parseUserProfile(imsSubscriptionXml(subscriber(i)));
  const impus = profile.identities.map((p) => p.uri);
  return {
    impi: `u${i}@ims.lab`,
    impus,
    barred: i % 2 === 1 ? [impus[1]!] : [],
    profile,
    contacts: [
      {
        uri: `sip:u${i}@10.0.0.${i & 255}:5062`,
        params: [['+sip.instance', `"<urn:gsma:imei:${i}>"`], ['reg-id', '1'], ['+g.3gpp.smsip', null]],
        instance: `<urn:gsma:imei:${i}>`,
        regId: 1,
        expiresAt: 1_000_000 + i,
        registeredAt: 1_000,
        callId: `call-${i}`,
        cseq: 2,
        path: ['<sip:term@pcscf.ims.lab;lr>'],
        receivedFrom: { transport: 'udp', address: '127.0.0.3', port: 5060 },
        id: `c${i}`,
      },
    ],
    ids: Object.fromEntries(impus.map((u, k) => [u, `r${i}-${k}`])),
  };
}

describe('MemoryRegistrationStore, compact form', () => {
  it('hands back every field as put, with profiles reparsed once they left the cache', () => {
    const store = new MemoryRegistrationStore();
    // More than the 1,024 parsed profiles it caches: the first ones come back from their User-Data.
    for (let i = 0; i < 1500; i++) store.put(registration(i));
    for (const i of [0, 1, 777, 1499]) {
      const got = store.byImpu(`tel:+1555${String(i).padStart(4, '0')}`)!;
      const want = registration(i);
      expect({ ...got, profile: undefined }).toEqual({ ...want, profile: undefined });
      expect(got.profile).toEqual(want.profile);
    }
    // Shared values are not shared with callers: a copy changed by one does not change what the next gets.
    const a = store.byImpi('u3@ims.lab')!;
    a.contacts[0]!.path.push('<sip:evil@x>');
    a.contacts[0]!.receivedFrom.port = 1;
    a.contacts[0]!.params[0]![1] = 'x';
    const b = store.byImpi('u4@ims.lab')!;
    expect(b.contacts[0]!.path).toEqual(['<sip:term@pcscf.ims.lab;lr>']);
    expect(b.contacts[0]!.receivedFrom.port).toBe(5060);
    expect(store.byImpi('u3@ims.lab')!.contacts[0]!.params[0]).toEqual(['+sip.instance', '"<urn:gsma:imei:3>"']);
  });

  it('gives back a lone IMPU and its contacts exactly as the count of contacts goes 1 → 2 → 0 → 1', () => {
    const store = new MemoryRegistrationStore();
    const base = registration(8);
    // One public identity (held as itself, not in a list) and its id.
    const one = { ...base, impus: [base.impus[0]!], barred: [], ids: { [base.impus[0]!]: 'r8' } };
    const second = { ...base.contacts[0]!, uri: 'sip:u8@10.0.0.9:5070', id: 'c8b', callId: 'call-8b', cseq: 7, q: 0.5, displayName: 'Eight', params: [] };
    const shapes = [[base.contacts[0]!], [base.contacts[0]!, second], [], [second]];
    for (const contacts of shapes) {
      store.put({ ...one, contacts });
      for (const got of [store.byImpi('u8@ims.lab')!, store.byImpu(base.impus[0]!)!]) {
        expect({ ...got, profile: undefined }).toEqual({ ...one, contacts, profile: undefined });
      }
      expect(store.holdsContacts('u8@ims.lab')).toBe(contacts.length > 0);
      // The second identity of the original set is not in this one: it finds nothing.
      expect(store.byImpu(base.impus[1]!)).toBeUndefined();
    }
    expect(store.list()).toHaveLength(1);
    expect(store.remove('u8@ims.lab')).toBe(true);
    expect(store.byImpu(base.impus[0]!)).toBeUndefined();
    expect(store.list()).toEqual([]);
  });

  it('finds every registration by IMPI and IMPU whether or not its IMPI as a SIP URI is one of its IMPUs, shared IMPUs included', () => {
    const store = new MemoryRegistrationStore();
    const base = registration(9);
    const reg = (impi: string, impus: string[]): SubscriptionRegistration => ({
      ...base,
      impi,
      impus,
      barred: [],
      ids: Object.fromEntries(impus.map((u, k) => [u, `${impi.length}-${k}`])),
    });
    const a = reg('a@x.lab', ['sip:a@x.lab']);
    // b shares a's IMPU, and is put last: that IMPU finds b (as it did), a is still found by its IMPI.
    const b = reg('b@x.lab', ['sip:b@x.lab', 'sip:a@x.lab']);
    const c = reg('c@x.lab', ['tel:+15550001']);
    // The IMPU's key has the realm in lower case: not the IMPI as a SIP URI, spelled as it is.
    const d = reg('D@X.Lab', ['sip:D@X.Lab']);
    for (const r of [a, b, c, d]) store.put(r);
    const impiOf = (x: SubscriptionRegistration | undefined) => x?.impi;
    expect([a, b, c, d].map((r) => impiOf(store.byImpi(r.impi)))).toEqual(['a@x.lab', 'b@x.lab', 'c@x.lab', 'D@X.Lab']);
    expect(['sip:a@x.lab', 'sip:b@x.lab', 'tel:+15550001', 'sip:D@x.lab'].map((u) => impiOf(store.byImpu(u)))).toEqual(['b@x.lab', 'b@x.lab', 'c@x.lab', 'D@X.Lab']);
    expect(store.byImpi('a@x.lab')).toEqual({ ...a, profile: base.profile });
    expect(store.list().map((r) => r.impi).sort()).toEqual(['D@X.Lab', 'a@x.lab', 'b@x.lab', 'c@x.lab']);
    expect(store.heldImpi('a@x.lab')).toBe('a@x.lab');
    expect(store.byImpi('x@x.lab')).toBeUndefined();
    expect(store.remove('x@x.lab')).toBe(false);

    // b gone: its IMPUs (the shared one too) find nothing; a is still there, and found by its IMPU once put again.
    expect(store.remove('b@x.lab')).toBe(true);
    expect(store.byImpi('b@x.lab')).toBeUndefined();
    expect(store.byImpu('sip:a@x.lab')).toBeUndefined();
    expect(impiOf(store.byImpi('a@x.lab'))).toBe('a@x.lab');
    store.put(a);
    expect(impiOf(store.byImpu('sip:a@x.lab'))).toBe('a@x.lab');
    expect(store.list().map((r) => r.impi).sort()).toEqual(['D@X.Lab', 'a@x.lab', 'c@x.lab']);
    for (const r of [a, c, d]) expect(store.remove(r.impi)).toBe(true);
    expect(store.list()).toEqual([]);
    expect(store.byImpu('sip:D@x.lab')).toBeUndefined();
  });

  it('gives back the URI, Call-ID and id of a binding exactly, a NUL in any of them included', () => {
    const store = new MemoryRegistrationStore();
    const base = registration(10);
    const odd = [
      { uri: 'sip:u10@10.0.0.10:5062', callId: 'a@b', id: '' },
      { uri: 'sip:u10@10.0.0.10:5062', callId: 'x\u0000y', id: 'c10' },
      { uri: 'sip:u\u000010@10.0.0.10', callId: 'call', id: 'c\u0000' },
      { uri: '', callId: '', id: '\u0000' },
    ];
    for (const o of odd) {
      const one = { ...base, contacts: [{ ...base.contacts[0]!, ...o }] };
      const two = { ...base, contacts: [{ ...base.contacts[0]!, ...o }, { ...base.contacts[0]!, uri: 'sip:second@10.0.0.11', id: 'second' }] };
      for (const r of [one, two]) {
        store.put(r);
        expect(store.byImpi(r.impi)!.contacts).toEqual(r.contacts);
      }
    }
  });

  it('keeps ids that are not keyed by the implicit set as they were given', () => {
    const store = new MemoryRegistrationStore();
    const r = { ...registration(5), ids: { 'sip:other@ims.lab': 'x1' } };
    store.put(r);
    expect(store.byImpi('u5@ims.lab')!.ids).toEqual({ 'sip:other@ims.lab': 'x1' });
  });
});

  it('gives back epoch-ms times, fractional and far-off times, and instance values beside a shared parameter list exactly', () => {
    const store = new MemoryRegistrationStore();
    const at = 1_764_000_000_000; // an epoch-ms time (2025): above 2^31, held as an offset
    const times: Array<[number, number]> = [
      [at, at + 600_000],
      [at - 86_400_000, at + 30 * 86_400_000], // before the first and beyond a small integer's reach
      [at + 0.25, at + 3_600_000.5], // not whole milliseconds
      [0, Number.POSITIVE_INFINITY],
    ];
    times.forEach(([registeredAt, expiresAt], i) => {
      const r = registration(i);
      r.contacts[0] = { ...r.contacts[0]!, registeredAt, expiresAt };
      store.put(r);
    });
    times.forEach(([registeredAt, expiresAt], i) => {
      const c = store.byImpi(`u${i}@ims.lab`)!.contacts[0]!;
      expect([c.registeredAt, c.expiresAt]).toEqual([registeredAt, expiresAt]);
      // Two bindings with the same parameters but their own +sip.instance each get theirs back.
      expect(c.params).toEqual([['+sip.instance', `"<urn:gsma:imei:${i}>"`], ['reg-id', '1'], ['+g.3gpp.smsip', null]]);
      expect(c.instance).toBe(`<urn:gsma:imei:${i}>`);
    });
    // A parameter value that looks like the store's placeholder, a second +sip.instance, and none at all.
    const odd = registration(9);
    odd.contacts[0] = { ...odd.contacts[0]!, params: [['x', '\u0000'], ['+sip.instance', '"<urn:a>"'], ['+sip.instance', '"<urn:b>"']], instance: '<urn:a>', regId: undefined };
    delete odd.contacts[0].regId;
    store.put(odd);
    const none = registration(10);
    none.contacts[0] = { ...none.contacts[0]!, params: [['reg-id', '1']] };
    delete none.contacts[0].instance;
    store.put(none);
    expect(store.byImpi('u9@ims.lab')!.contacts[0]).toEqual(odd.contacts[0]);
    expect(store.byImpi('u10@ims.lab')!.contacts[0]).toEqual(none.contacts[0]);
  });

describe('MemorySubscriberStore, compact form', () => {
  it('gives back K, OP, OPc, AMF and a 48-bit SQN exactly, with or without each field', () => {
    const store = new MemorySubscriberStore();
    const withOp = subscriber(1, { opc: undefined, op: Buffer.alloc(16, 0x33) });
    delete withOp.opc;
    store.put(subscriber(0));
    store.put(withOp);
    expect(store.get('u0@ims.lab')).toEqual(subscriber(0));
    expect(store.get('u1@ims.lab')).toEqual(withOp);
    expect(store.nextSqn('u0@ims.lab', (q) => q + 32n)).toBe(BigInt(2 ** 47 + 32));
    expect(store.get('u0@ims.lab')!.sqn).toBe(BigInt(2 ** 47 + 32));
    // A Buffer handed out is the caller's: changing it does not change the store.
    store.get('u0@ims.lab')!.k!.fill(0);
    expect(store.get('u0@ims.lab')!.k).toEqual(Buffer.alloc(16, 0));
  });

  it('shares one registration state between identities and hands out copies with their own impu', () => {
    const store = new MemorySubscriberStore();
    store.put(subscriber(2));
    const scscf = { state: 'REGISTERED' as const, serverName: 'sip:scscf.ims.lab:6060', scscfHost: 'scscf.ims.lab', scscfRealm: 'ims.lab', authPending: false };
    store.setRegistrations([{ impu: 'sip:u2@ims.lab', ...scscf }, { impu: 'tel:+15550002', ...scscf }]);
    const a = store.getRegistration('sip:u2@ims.lab');
    a.state = 'NOT_REGISTERED';
    expect(store.getRegistration('tel:+15550002')).toEqual({ impu: 'tel:+15550002', ...scscf });
    expect(store.getRegistration('sip:u2@ims.lab')).toEqual({ impu: 'sip:u2@ims.lab', ...scscf });
    store.setRegistrations([{ impu: 'sip:u2@ims.lab', state: 'NOT_REGISTERED', authPending: false }]);
    expect(store.listRegistrations().map((r) => r.impu)).toEqual(['tel:+15550002']);
    expect(store.findImpiByImpu('sip:u2@ims.lab')).toBe('u2@ims.lab');
    // A state for an identity nobody owns: kept, but it names no owner.
    store.setRegistrations([{ impu: 'sip:nobody@ims.lab', ...scscf }]);
    expect(store.findImpiByImpu('sip:nobody@ims.lab')).toBeUndefined();
    expect(store.getRegistration('sip:nobody@ims.lab').state).toBe('REGISTERED');
  });
});
