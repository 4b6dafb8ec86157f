import { describe, expect, it } from 'vitest';
import { publicIdentityKey } from '../../src/sip/public-identity.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';

describe('publicIdentityKey (TS 23.003 §13.4, RFC 3261 §19.1.4)', () => {
  it('drops port, URI parameters and headers; folds scheme and host case; keeps the user as written', () => {
    expect(publicIdentityKey('sip:dave@ims.Example.ORG;transport=tcp')).toBe('sip:dave@ims.example.org');
    expect(publicIdentityKey('<sip:Dave@ims.example.org:5060;user=phone?Subject=x>')).toBe('sip:Dave@ims.example.org');
    expect(publicIdentityKey('SIPS:dave@ims.example.org')).toBe('sip:dave@ims.example.org');
    expect(publicIdentityKey('tel:+15550002;phone-context=ims.example.org')).toBe('tel:+15550002');
    expect(publicIdentityKey('sip:dave@[::1]:5060;lr')).toBe('sip:dave@[::1]');
    // A ';' in the user part (telephone-subscriber parameters) is part of the user, not a URI parameter.
    expect(publicIdentityKey('sip:+1555;isub=12@ims.example.org;user=phone')).toBe('sip:+1555;isub=12@ims.example.org');
  });

  it('the HSS finds an identity whatever parameters the Request-URI carries', () => {
    const hss = new MemorySubscriberStore();
    hss.put({
      impi: 'dave@ims.example.org',
      impus: [{ uri: 'sip:dave@ims.example.org', barred: false }],
      authSchemes: ['SIP Digest'],
      amf: Buffer.from('8000', 'hex'),
      sqn: 0n,
      password: 'secret',
      allowedVisitedNetworks: [],
    });
    expect(hss.findImpiByImpu('sip:dave@ims.example.org;transport=tcp')).toBe('dave@ims.example.org');
    expect(hss.findImpiByImpu('sip:dave@IMS.example.org:5060')).toBe('dave@ims.example.org');
  });
});
