import { describe, expect, it } from 'vitest';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import type { Subscriber } from '../../src/hss/subscriber.js';

// Issue 7: an identity's registration state lives in its subscriber's record (no object per identity).
const sub = (impi: string, uris: string[]): Subscriber => ({
  impi, impus: uris.map((uri) => ({ uri, barred: false })), authSchemes: ['AKAv1-MD5'], k: Buffer.alloc(16, 1), opc: Buffer.alloc(16, 2),
  amf: Buffer.from([0x80, 0]), sqn: 0n, allowedVisitedNetworks: [],
});
const at = { state: 'REGISTERED' as const, serverName: 'sip:scscf.ims.lab', scscfHost: 'scscf.ims.lab', scscfRealm: 'ims.lab', authPending: false };

describe('MemorySubscriberStore identities and their states', () => {
  it('keeps each identity its own state, across a re-put, and adopts a state stored before its owner', () => {
    const store = new MemorySubscriberStore();
    // A state for an identity nobody owns yet (the contract allows it).
    store.setRegistrations([{ impu: 'tel:+1', ...at, state: 'UNREGISTERED' }]);
    expect(store.findImpiByImpu('tel:+1')).toBeUndefined();
    store.put(sub('a@ims.lab', ['sip:a@ims.lab', 'tel:+1']));
    expect(store.findImpiByImpu('tel:+1')).toBe('a@ims.lab');
    expect(store.getRegistration('tel:+1').state).toBe('UNREGISTERED');
    expect(store.getRegistration('sip:a@ims.lab').state).toBe('NOT_REGISTERED');
    store.setRegistrations([{ impu: 'sip:a@ims.lab', ...at }]);
    // b shares a's states list until one of b's identities changes.
    store.put(sub('b@ims.lab', ['sip:b@ims.lab', 'tel:+2']));
    store.setRegistrations([{ impu: 'sip:b@ims.lab', ...at }]);
    expect(store.getRegistration('tel:+2').state).toBe('NOT_REGISTERED');
    // Re-put with one identity dropped and one added: the kept one keeps its state, the dropped one is gone.
    store.put(sub('a@ims.lab', ['sip:a@ims.lab', 'tel:+3']));
    expect(store.getRegistration('sip:a@ims.lab')).toEqual({ impu: 'sip:a@ims.lab', ...at });
    expect(store.getRegistration('tel:+1').state).toBe('NOT_REGISTERED');
    expect(store.findImpiByImpu('tel:+1')).toBeUndefined();
    expect(store.listRegistrations().map((r) => `${r.impu} ${r.state}`)).toEqual(['sip:a@ims.lab REGISTERED', 'sip:b@ims.lab REGISTERED']);
    store.setRegistrations([{ impu: 'sip:a@ims.lab', state: 'NOT_REGISTERED', authPending: false }]);
    expect(store.listRegistrations().map((r) => r.impu)).toEqual(['sip:b@ims.lab']);
    expect(store.remove('b@ims.lab')).toBe(true);
    expect(store.getRegistration('sip:b@ims.lab').state).toBe('NOT_REGISTERED');
    expect(store.listRegistrations()).toEqual([]);
  });

  it('rolls a failed transaction back with identities still pointing at their subscriber', () => {
    const store = new MemorySubscriberStore();
    store.put(sub('a@ims.lab', ['sip:a@ims.lab']));
    expect(() =>
      store.transaction((s) => {
        s.setRegistrations([{ impu: 'sip:a@ims.lab', ...at }]);
        s.setSqn('a@ims.lab', 64n);
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(store.getRegistration('sip:a@ims.lab').state).toBe('NOT_REGISTERED');
    expect(store.get('a@ims.lab')!.sqn).toBe(0n);
    // After the rollback a change through the identity and one through the IMPI reach the same record.
    store.setRegistrations([{ impu: 'sip:a@ims.lab', ...at }]);
    store.setSqn('a@ims.lab', 32n);
    expect(store.getRegistration('sip:a@ims.lab').state).toBe('REGISTERED');
    expect(store.get('a@ims.lab')!.sqn).toBe(32n);
    store.put(sub('a@ims.lab', ['sip:a@ims.lab']));
    expect(store.getRegistration('sip:a@ims.lab').state).toBe('REGISTERED');
  });
});
