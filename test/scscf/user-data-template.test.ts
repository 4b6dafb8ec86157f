import { describe, expect, it } from 'vitest';
import { imsSubscriptionXml } from '../../src/hss/user-data.js';
import type { Subscriber } from '../../src/hss/subscriber.js';
import { MemoryRegistrationStore, type SubscriptionRegistration } from '../../src/scscf/scscf/registration-store.js';
import { cutUserData, joinUserData } from '../../src/scscf/user-data-template.js';
import { parseUserProfile } from '../../src/scscf/user-profile.js';

const IFC = '<InitialFilterCriteria><Priority>0</Priority><ApplicationServer><ServerName>sip:as.ims.lab</ServerName></ApplicationServer></InitialFilterCriteria>';

function xmlFor(impi: string, impus: string[], ifc = IFC): string {
  const s = { impi, impus: impus.map((uri) => ({ uri, barred: false })) } as unknown as Subscriber;
  return imsSubscriptionXml(s).replace('</ServiceProfile>', `${ifc}</ServiceProfile>`);
}

function registration(impi: string, impus: string[], xml = xmlFor(impi, impus)): SubscriptionRegistration {
  const profile = parseUserProfile(xml);
  return {
    impi,
    impus: profile.identities.map((p) => p.uri),
    barred: [],
    profile,
    contacts: [
      {
        uri: `sip:${impi}@10.0.0.1:5062`,
        params: [['+sip.instance', '"<urn:uuid:00000000-0000-1000-8000-000000000001>"'], ['reg-id', '1']],
        instance: '<urn:uuid:00000000-0000-1000-8000-000000000001>',
        regId: 1,
        expiresAt: 5000,
        registeredAt: 1000,
        callId: 'c1',
        cseq: 1,
        path: [],
        receivedFrom: { transport: 'udp', address: '127.0.0.3', port: 5060 },
        id: 'x',
      },
    ],
    ids: Object.fromEntries(profile.identities.map((p, k) => [p.uri, `id${k}`])),
  };
}

describe('User-Data templates (issue 7)', () => {
  it('cuts a document at its PrivateID and Identity texts and joins it back byte for byte', () => {
    const xml = xmlFor('a@ims.lab', ['sip:a@ims.lab', 'tel:+1555']);
    const t = cutUserData(xml, 'a@ims.lab', ['sip:a@ims.lab', 'tel:+1555'])!;
    expect(t).toHaveLength(4);
    expect(t.join('')).not.toContain('a@ims.lab');
    expect(t.join('')).toContain(IFC);
    expect(joinUserData(t, 'a@ims.lab', ['sip:a@ims.lab', 'tel:+1555'])).toBe(xml);
    // Another subscriber provisioned alike has the same template.
    expect(cutUserData(xmlFor('b@ims.lab', ['sip:b@ims.lab', 'tel:+1666']), 'b@ims.lab', ['sip:b@ims.lab', 'tel:+1666'])).toEqual(t);
    expect(() => joinUserData(t, 'a@ims.lab', ['sip:a@ims.lab'])).toThrow(RangeError);
  });

  it('does not cut a document whose texts are not exactly the identities given', () => {
    const xml = xmlFor('a@ims.lab', ['sip:a@ims.lab', 'tel:+1555']);
    expect(cutUserData(xml, 'other@ims.lab', ['sip:a@ims.lab', 'tel:+1555'])).toBeUndefined();
    expect(cutUserData(xml, 'a@ims.lab', ['tel:+1555', 'sip:a@ims.lab'])).toBeUndefined();
    expect(cutUserData(xml, 'a@ims.lab', ['sip:a@ims.lab'])).toBeUndefined();
    expect(cutUserData(xml, 'a@ims.lab', ['sip:a@ims'])).toBeUndefined();
    // An escaped character: the parsed identity differs from the text, so the document is kept whole.
    const amp = xmlFor('a@ims.lab', ['sip:a&b@ims.lab']);
    expect(amp).toContain('sip:a&amp;b@ims.lab');
    expect(cutUserData(amp, 'a@ims.lab', ['sip:a&b@ims.lab'])).toBeUndefined();
  });

  it('lets the S-CSCF store keep one template for subscribers provisioned alike and give every document back', () => {
    const store = new MemoryRegistrationStore();
    for (let i = 0; i < 50; i++) store.put(registration(`u${i}@ims.lab`, [`sip:u${i}@ims.lab`, `tel:+1555${i}`]));
    expect(store.userDataTemplates).toBe(1);
    store.put(registration('v@ims.lab', ['sip:v@ims.lab'], xmlFor('v@ims.lab', ['sip:v@ims.lab'], IFC.replace('as.ims.lab', 'other-as.ims.lab'))));
    const amp = registration('w@ims.lab', ['sip:w&x@ims.lab']);
    store.put(amp);
    // A second service profile is a second template; the escaped identity's document is kept whole, no template.
    expect(store.userDataTemplates).toBe(2);
    // More than the 1,024 parsed profiles cached, so the first documents come back from their templates.
    for (let i = 50; i < 1200; i++) store.put(registration(`u${i}@ims.lab`, [`sip:u${i}@ims.lab`, `tel:+1555${i}`]));
    for (const i of [0, 7, 1199]) {
      const want = registration(`u${i}@ims.lab`, [`sip:u${i}@ims.lab`, `tel:+1555${i}`]);
      expect(store.byImpu(`tel:+1555${i}`)).toEqual(want);
    }
    expect(store.byImpi('w@ims.lab')!.profile.xml).toBe(amp.profile.xml);
    expect(store.byImpi('v@ims.lab')!.profile.initialFilterCriteria).toEqual([[IFC.slice('<InitialFilterCriteria>'.length, -'</InitialFilterCriteria>'.length).replace('as.ims.lab', 'other-as.ims.lab')]]);
  });

  it('derives instance and reg-id from the Contact parameters, and keeps them where they say otherwise', () => {
    const store = new MemoryRegistrationStore();
    const r = registration('a@ims.lab', ['sip:a@ims.lab']);
    const odd = { ...r.contacts[0]!, uri: 'sip:a@10.0.0.2', instance: '<urn:uuid:other>', regId: 7, id: 'y' };
    const none = { ...r.contacts[0]!, uri: 'sip:a@10.0.0.3', id: 'z' };
    delete none.instance;
    delete none.regId;
    store.put({ ...r, contacts: [r.contacts[0]!, odd, none] });
    const got = store.byImpi('a@ims.lab')!.contacts;
    expect(got[0]!.instance).toBe('<urn:uuid:00000000-0000-1000-8000-000000000001>');
    expect(got[0]!.regId).toBe(1);
    expect(got[1]!.instance).toBe('<urn:uuid:other>');
    expect(got[1]!.regId).toBe(7);
    expect(got[2]!.instance).toBeUndefined();
    expect(got[2]!.regId).toBeUndefined();
  });
});
