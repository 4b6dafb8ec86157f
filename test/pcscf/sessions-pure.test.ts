/** The pure parts of P-CSCF session handling: identity choice (RFC 3325 §9.1) and the Service-Route check (TS 24.229 §5.2.6.3.2). */
import { describe, expect, it } from 'vitest';
import { assertIdentity, chooseAssertedIdentity, matchesServiceRoute, setServiceRoute } from '../../src/pcscf/index.js';
import { Headers } from '../../src/sip/message.js';

const SET = ['sip:alice@home.test', 'tel:+15550001'];

describe('chooseAssertedIdentity', () => {
  it('asserts the default public identity when the UE prefers none', () => {
    expect(chooseAssertedIdentity(SET, [])).toEqual({ identity: 'sip:alice@home.test', preferred: 'absent' });
  });
  it('honours a preferred identity of the set, compared as URIs, and returns the registered spelling', () => {
    expect(chooseAssertedIdentity(SET, ['"Alice" <tel:+15550001>'])).toEqual({ identity: 'tel:+15550001', preferred: 'honoured' });
    expect(chooseAssertedIdentity(SET, ['<sip:alice@HOME.test>']).identity).toBe('sip:alice@home.test');
  });
  it('takes the first preferred value that is in the set (RFC 3325 §9.2: one sip and one tel)', () => {
    expect(chooseAssertedIdentity(SET, ['<sip:mallory@home.test>', '<tel:+15550001>']).identity).toBe('tel:+15550001');
  });
  it('refuses a preferred identity outside the set, or an unreadable one, and falls back to the default', () => {
    expect(chooseAssertedIdentity(SET, ['<sip:bob@home.test>'])).toEqual({ identity: 'sip:alice@home.test', preferred: 'refused', refusedValues: ['<sip:bob@home.test>'] });
    expect(chooseAssertedIdentity(SET, ['<not a uri']).preferred).toBe('refused');
  });
  it('throws when there is nothing registered to assert', () => {
    expect(() => chooseAssertedIdentity([], [])).toThrow(/no registered public identity/);
  });
  it('assertIdentity replaces every P-Asserted-Identity and P-Preferred-Identity with one value', () => {
    const h = new Headers().append('P-Asserted-Identity', '<sip:bob@home.test>').append('P-Asserted-Identity', '<tel:+1999>').append('P-Preferred-Identity', '<tel:+15550001>');
    assertIdentity(h, 'tel:+15550001');
    expect(h.getAll('P-Asserted-Identity')).toEqual(['<tel:+15550001>']);
    expect(h.has('P-Preferred-Identity')).toBe(false);
  });
});

describe('matchesServiceRoute', () => {
  const SR = ['<sip:orig@127.0.3.1:5060;lr>'];
  it('accepts the Service-Route exactly, compared as URIs', () => {
    expect(matchesServiceRoute(['<sip:orig@127.0.3.1:5060;lr>'], SR)).toBe(true);
    expect(matchesServiceRoute(['<sip:orig@127.0.3.1:5060;LR>'], SR)).toBe(true);
  });
  it('refuses a missing, shorter, longer, different or unreadable route', () => {
    expect(matchesServiceRoute([], SR)).toBe(false);
    expect(matchesServiceRoute(['<sip:127.0.3.1:5060;lr>'], SR)).toBe(false);
    expect(matchesServiceRoute(['<sip:orig@127.0.3.1:5060;lr>', '<sip:evil@127.0.9.9;lr>'], SR)).toBe(false);
    expect(matchesServiceRoute(['<sip:orig@127.0.3.1:5070;lr>'], SR)).toBe(false);
    expect(matchesServiceRoute(['<sip:orig@'], SR)).toBe(false);
  });
  it('setServiceRoute puts the stored values in place of the Route set, in order', () => {
    const h = new Headers().append('Route', '<sip:evil@127.0.9.9;lr>').append('Via', 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1');
    setServiceRoute(h, ['<sip:orig@127.0.3.1:5060;lr>', '<sip:as@127.0.5.1;lr>']);
    expect(h.list('Route')).toEqual(['<sip:orig@127.0.3.1:5060;lr>', '<sip:as@127.0.5.1;lr>']);
  });
});
