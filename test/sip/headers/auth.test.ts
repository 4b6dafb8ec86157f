import { describe, expect, it } from 'vitest';
import { formatChallenge, formatCredentials, parseChallenge, parseCredentials } from '../../../src/sip/headers/auth.js';
import { SipParseError } from '../../../src/sip/parser.js';

describe('Authorization and WWW-Authenticate (RFC 3261 §25.1, RFC 2617 §3.2, RFC 3310 §3)', () => {
  it('reads quoted values without their quotes, quoted-pairs expanded, and unquoted tokens with "/", ":" and "="', () => {
    const c = parseCredentials('Digest username="a\\"b@ims", realm = "ims" ,nonce="bm9u/Y2U=", uri="sip:ims", response="", algorithm=AKAv1-MD5, opaque=b64/x:y=');
    expect(c).toMatchObject({ scheme: 'Digest', username: 'a"b@ims', realm: 'ims', nonce: 'bm9u/Y2U=', response: '', opaque: 'b64/x:y=' });
    expect([...c.params.keys()]).toEqual(['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'opaque']);
  });

  it('writes credentials back in their order, quoting what §25.1 quotes and any value that is not a token', () => {
    const c = parseCredentials('Digest username="a\\"b@ims", realm=ims, qop="auth", nc=00000001, x-tok="plain", x-sp="a b"');
    expect(formatCredentials(c)).toBe('Digest username="a\\"b@ims", realm="ims", qop=auth, nc=00000001, x-tok=plain, x-sp="a b"');
    // Typed fields override their param in place; those the params lack come after them, in §22.4 order.
    c.realm = 'other';
    c.cnonce = 'c1';
    c.auts = 'YXV0cw==';
    expect(formatCredentials(c)).toBe('Digest username="a\\"b@ims", realm="other", qop=auth, nc=00000001, x-tok=plain, x-sp="a b", cnonce="c1", auts="YXV0cw=="');
    expect(formatCredentials({ scheme: 'Digest', params: new Map() })).toBe('Digest');
  });

  it('leaves out the params named in omit, and leaves the credentials as they were', () => {
    const c = parseCredentials('Digest username="u", integrity-protected="yes", realm="r"');
    expect(formatCredentials(c, new Set(['integrity-protected']))).toBe('Digest username="u", realm="r"');
    expect(c.params.get('integrity-protected')).toBe('yes');
    expect(formatCredentials(c, new Set(['integrity-protected', 'username', 'realm']))).toBe('Digest');
  });

  it('writes a challenge with stale and qop from the typed fields, and without ck/ik when told to', () => {
    const ch = parseChallenge('Digest realm="ims", nonce="n", algorithm=AKAv1-MD5, qop="auth, auth-int", ck="0011", ik="2233", stale=true');
    expect(formatChallenge(ch)).toBe('Digest realm="ims", nonce="n", algorithm=AKAv1-MD5, qop="auth,auth-int", ck="0011", ik="2233", stale=TRUE');
    expect(formatChallenge({ scheme: ch.scheme, params: ch.params }, new Set(['ck', 'ik']))).toBe(
      'Digest realm="ims", nonce="n", algorithm=AKAv1-MD5, qop="auth, auth-int", stale=true',
    );
    expect(formatChallenge({ scheme: 'Digest', params: new Map(), realm: 'r', qop: ['auth'], stale: false })).toBe('Digest realm="r", stale=FALSE, qop="auth"');
  });

  it('refuses what it cannot read, naming it', () => {
    expect(() => parseCredentials('Digest username="unterminated')).toThrow(/unterminated quoted string in username/);
    expect(() => parseCredentials('Digest username')).toThrow(/without "="/);
    expect(() => parseCredentials('Digest a="1" b="2"')).toThrow(/expected ","/);
    expect(() => parseCredentials('Digest nc=1')).toThrow(SipParseError);
    expect(() => parseChallenge('="x"')).toThrow(/missing scheme/);
  });
});
