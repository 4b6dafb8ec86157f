import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DigestInputError,
  akaPassword,
  computeDigestResponse,
  decodeAkaNonce,
  decodeAuts,
  digestResponsesEqual,
  encodeAkaNonce,
  encodeAuts,
  ha1,
  ha2,
  parseAlgorithm,
} from '../../../src/sip/auth/digest.js';
import { f2345 } from '../../../src/aka/milenage.js';
import { computeAuts } from '../../../src/aka/resync.js';
import { vectorPath } from '../../helpers/vectors.js';

const v = JSON.parse(readFileSync(vectorPath('digest.json'), 'utf8')) as any;
const h = (s: string) => Buffer.from(s, 'hex');

describe('RFC 2617 digest', () => {
  const m = v.rfc2617_example;
  it('reproduces the Mufasa example (HA1, HA2, response)', () => {
    expect(ha1({ username: m.username, realm: m.realm, password: m.password })).toBe(m.HA1);
    expect(ha2({ method: m.method, uri: m.uri, qop: 'auth' })).toBe(m.HA2);
    const response = computeDigestResponse({ ...m, qop: 'auth' });
    expect(response).toBe(m.response);
    expect(digestResponsesEqual(m.response, response.toUpperCase())).toBe(true);
    expect(digestResponsesEqual(m.response, m.HA1)).toBe(false);
  });

  it('a number nc is rendered as 8 hex digits', () => {
    expect(computeDigestResponse({ ...m, nc: 1, qop: 'auth' })).toBe(m.response);
  });

  it('without qop: MD5(HA1:nonce:HA2) (RFC 2069 form)', () => {
    const expected = md5(`${m.HA1}:${m.nonce}:${m.HA2}`);
    expect(computeDigestResponse({ username: m.username, realm: m.realm, password: m.password, method: m.method, uri: m.uri, nonce: m.nonce })).toBe(expected);
  });

  it('auth-int hashes the body into HA2; an empty body hashes as MD5("")', () => {
    const empty = ha2({ method: 'REGISTER', uri: 'sip:x', qop: 'auth-int' });
    expect(empty).toBe(md5('REGISTER:sip:x:d41d8cd98f00b204e9800998ecf8427e'));
    const withBody = ha2({ method: 'REGISTER', uri: 'sip:x', qop: 'auth-int', body: 'v=0\r\n' });
    expect(withBody).toBe(md5(`REGISTER:sip:x:${md5('v=0\r\n')}`));
    const r = computeDigestResponse({ ...m, qop: 'auth-int', body: 'v=0\r\n' });
    expect(r).toBe(md5(`${m.HA1}:${m.nonce}:${m.nc}:${m.cnonce}:auth-int:${md5(`${m.method}:${m.uri}:${md5('v=0\r\n')}`)}`));
  });

  it('MD5-sess binds HA1 to nonce and cnonce', () => {
    expect(ha1({ username: m.username, realm: m.realm, password: m.password, algorithm: 'MD5-sess', nonce: m.nonce, cnonce: m.cnonce })).toBe(
      md5(`${m.HA1}:${m.nonce}:${m.cnonce}`),
    );
    expect(() => ha1({ username: 'a', realm: 'b', password: 'c', algorithm: 'MD5-sess' })).toThrow(/cnonce/);
  });

  it('RFC 7616 SHA-256 uses SHA-256 throughout', () => {
    const r = computeDigestResponse({ ...m, qop: 'auth', algorithm: 'SHA-256' });
    const a1 = sha256(`${m.username}:${m.realm}:${m.password}`);
    const a2 = sha256(`${m.method}:${m.uri}`);
    expect(r).toBe(sha256(`${a1}:${m.nonce}:${m.nc}:${m.cnonce}:auth:${a2}`));
  });

  it('refuses bad input with the field named', () => {
    expect(() => computeDigestResponse({ ...m, qop: 'auth', nc: '1' })).toThrow(/^nc:/);
    expect(() => computeDigestResponse({ ...m, qop: 'auth', cnonce: undefined })).toThrow(/^cnonce:/);
    expect(() => parseAlgorithm('SHA-1')).toThrow(DigestInputError);
    expect(() => parseAlgorithm('AKAv1-SHA-256')).toThrow(/AKA only with MD5/);
    expect(parseAlgorithm('akav2-md5')).toMatchObject({ aka: 2, hash: 'md5', sess: false });
  });
});

describe('Digest AKA (RFC 3310 / RFC 4169)', () => {
  it('external AKAv1 vector: nonce layout and password = raw RES octets', () => {
    const x = v.akav1_external_example;
    const nonce = encodeAkaNonce({ rand: h(x.RAND), autn: h(x.derived.AUTN) });
    expect(nonce).toBe(x.derived.nonce);
    const decoded = decodeAkaNonce(nonce);
    expect(decoded.rand.toString('hex')).toBe(x.RAND);
    expect(decoded.autn.toString('hex')).toBe(x.derived.AUTN);
    const password = akaPassword(1, h(x.derived.RES));
    expect(ha1({ username: x.username, realm: x.realm, password, algorithm: 'AKAv1-MD5' })).toBe(x.derived.HA1);
    expect(ha2({ method: x.method, uri: x.uri, qop: 'auth' })).toBe(x.derived.HA2);
    const params = { username: x.username, realm: x.realm, method: x.method, uri: x.uri, nonce, nc: x.nc, cnonce: x.cnonce, qop: 'auth' as const, algorithm: x.algorithm };
    expect(computeDigestResponse({ ...params, password })).toBe(x.response);
    // The common mistake: RES as its hex text.
    expect(computeDigestResponse({ ...params, password: x.derived.RES })).toBe(x.wrong_if_RES_hex_string);
  });

  const d = v.derived_milenage_examples;
  const base = { username: d.username, realm: d.realm, method: d.method, uri: d.uri, nonce: d.nonce, nc: d.nc, cnonce: d.cnonce, qop: 'auth' as const };

  it('Milenage set 1 through AKAv1-MD5', () => {
    const out = f2345(h(d.K), h(d.OPc), h(d.RAND));
    expect(out.res.toString('hex')).toBe(d.RES);
    expect(encodeAkaNonce({ rand: h(d.RAND), autn: h(d.AUTN) })).toBe(d.nonce);
    const password = akaPassword(1, out.res);
    expect(ha1({ username: d.username, realm: d.realm, password })).toBe(d.akav1_md5.HA1);
    expect(ha2(base)).toBe(d.akav1_md5.HA2);
    expect(computeDigestResponse({ ...base, password, algorithm: 'AKAv1-MD5' })).toBe(d.akav1_md5.response);
  });

  it('AKAv2-MD5: password = base64(HMAC-MD5(RES‖IK‖CK, "http-digest-akav2-password"))', () => {
    const password = akaPassword(2, h(d.RES), h(d.IK), h(d.CK));
    expect(password.toString('ascii')).toBe(d.akav2_md5.password);
    expect(computeDigestResponse({ ...base, password, algorithm: 'AKAv2-MD5' })).toBe(d.akav2_md5.response);
    expect(() => akaPassword(2, h(d.RES))).toThrow(/IK/);
  });

  it('resync: auts parameter and the empty-password response', () => {
    const auts = computeAuts({ k: h(d.K), opc: h(d.OPc), rand: h(d.RAND), sqnMs: h(d.resync.SQN_MS) });
    expect(auts.toString('hex')).toBe(d.resync.AUTS);
    expect(encodeAuts(auts)).toBe(d.resync.auts_param);
    expect(decodeAuts(d.resync.auts_param).toString('hex')).toBe(d.resync.AUTS);
    expect(computeDigestResponse({ ...base, password: '', algorithm: 'AKAv1-MD5' })).toBe(d.resync.response_with_empty_password);
    expect(Buffer.concat([h(d.RAND), auts]).toString('hex')).toBe(d.resync.SIP_Authorization_in_MAR);
  });

  it('server data after AUTN survives the round trip; short or mangled nonces are refused', () => {
    const nonce = encodeAkaNonce({ rand: h(d.RAND), autn: h(d.AUTN), serverData: Buffer.from('srv') });
    expect(decodeAkaNonce(nonce).serverData.toString()).toBe('srv');
    expect(() => decodeAkaNonce(Buffer.alloc(31).toString('base64'))).toThrow(/at least RAND and AUTN/);
    expect(() => decodeAkaNonce('I1U8vpY3qJ0h!uZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=')).toThrow(/not valid base64/);
    expect(() => decodeAuts(Buffer.alloc(13).toString('base64'))).toThrow(/14 octets/);
    expect(() => encodeAkaNonce({ rand: Buffer.alloc(15), autn: Buffer.alloc(16) })).toThrow(/^RAND/);
  });
});

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}
function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
