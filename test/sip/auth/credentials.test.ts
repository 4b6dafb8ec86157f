import { describe, expect, it } from 'vitest';
import { AuthHeaderError, formatChallenge, formatCredentials, parseAuthHeader } from '../../../src/sip/auth/credentials.js';

describe('Digest header values (RFC 3261 §25.1, RFC 3310)', () => {
  it('parses an IMS Authorization with quoted and token values, names case-insensitive', () => {
    const v = parseAuthHeader(
      'Digest username="001010000000001@ims.mnc001.mcc001.3gppnetwork.org", Realm="ims.mnc001.mcc001.3gppnetwork.org",\r\n nonce="I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=",uri="sip:ims.mnc001.mcc001.3gppnetwork.org", response="402ab8df9f3a4d63a9f47c2f90e02938", algorithm=AKAv1-MD5, cnonce="0a4f113b", qop=auth, nc=00000001',
    );
    expect(v.scheme).toBe('Digest');
    expect(v.params.get('realm')).toBe('ims.mnc001.mcc001.3gppnetwork.org');
    expect(v.params.get('nonce')).toBe('I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=');
    expect(v.params.get('algorithm')).toBe('AKAv1-MD5');
    expect(v.params.get('nc')).toBe('00000001');
    expect(v.params.size).toBe(9);
  });

  it('unescapes quoted-pairs and round-trips through the formatter', () => {
    const text = formatCredentials([
      ['username', 'a"b\\c'],
      ['qop', 'auth'],
      ['nc', '00000001'],
      ['auts', 'RR6L7KQ6Id5ULb37dFM='],
    ]);
    expect(text).toBe('Digest username="a\\"b\\\\c", qop=auth, nc=00000001, auts="RR6L7KQ6Id5ULb37dFM="');
    expect(parseAuthHeader(text).params.get('username')).toBe('a"b\\c');
  });

  it('formats a challenge with quoted qop-options and unquoted algorithm', () => {
    expect(formatChallenge([['realm', 'r'], ['nonce', 'n'], ['algorithm', 'AKAv1-MD5'], ['qop', 'auth,auth-int']])).toBe(
      'Digest realm="r", nonce="n", algorithm=AKAv1-MD5, qop="auth,auth-int"',
    );
  });

  it('refuses malformed values with a clear error', () => {
    expect(() => parseAuthHeader('Digest realm="x')).toThrow(/unterminated/);
    expect(() => parseAuthHeader('Digest realm "x"')).toThrow(/expected "="/);
    expect(() => parseAuthHeader('Digest realm="x" nonce="y"')).toThrow(/expected ","/);
    expect(() => parseAuthHeader('Digest realm="x", realm="y"')).toThrow(AuthHeaderError);
    expect(() => parseAuthHeader('')).toThrow(/auth scheme/);
  });
});
