import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/util/random.js';
import {
  answerOffer,
  applyAnswer,
  createOffer,
  cryptoAttributesByMedia,
  formatCryptoAttribute,
  holdOffer,
  parseCryptoAttribute,
  resumeOffer,
  SdpError,
  type AcceptedAnswer,
} from '../../src/sdp/index.js';
import { SrtpContext } from '../../src/rtp/srtp/index.js';
import { encodeRtp } from '../../src/rtp/packet.js';

const CALLER = { address: '127.0.30.1', port: 40000 };
const CALLEE = { address: '127.0.30.2', port: 41000 };
const random = () => new SeededRandom('crypto-test');
/** The key of RFC 4568 §4's example: 40 base64 characters, 30 octets (16 key + 14 salt). */
const RFC_KEY = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';

function foreignOffer(mLine: string, ...attributes: string[]): string {
  return ['v=0', 'o=other 123 456 IN IP4 127.0.40.1', 's=call', 'c=IN IP4 127.0.40.1', 't=0 0', mLine, 'a=rtpmap:0 PCMU/8000', ...attributes]
    .join('\r\n')
    .concat('\r\n');
}

function accepted(r: ReturnType<typeof answerOffer>): AcceptedAnswer {
  if (!r.ok) throw new Error(`expected an answer, got 488 ${r.warning}`);
  return r;
}

function cryptoLines(sdp: string): string[] {
  return sdp.split('\r\n').filter((l) => l.startsWith('a=crypto:'));
}

describe('a=crypto syntax (RFC 4568 §9.2)', () => {
  it('parses tag, suite, inline key ‖ salt, lifetime, MKI and session parameters, and writes them back unchanged', () => {
    const line = `crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4 KDR=0`;
    const c = parseCryptoAttribute(line);
    expect(c.tag).toBe(1);
    expect(c.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(c.keyParams).toHaveLength(1);
    expect(c.keyParams[0]!.keySalt).toHaveLength(30);
    expect(c.keyParams[0]!.lifetime).toBe('2^20');
    expect(c.keyParams[0]!.mki).toEqual({ value: 1, length: 4 });
    expect(c.sessionParams).toEqual(['KDR=0']);
    expect(formatCryptoAttribute(c)).toBe(line);
    expect(parseCryptoAttribute(`7 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY}`).tag).toBe(7);
  });

  it.each([
    ['no key params', 'crypto:1 AES_CM_128_HMAC_SHA1_80'],
    ['a tag of letters', `crypto:x AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`],
    ['another key method', `crypto:1 AES_CM_128_HMAC_SHA1_80 uri:${RFC_KEY}`],
    ['a key that is not base64', 'crypto:1 AES_CM_128_HMAC_SHA1_80 inline:not*base64!'],
    ['an MKI length of 0', `crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|1:0`],
    ['an MKI that does not fit', `crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|256:1`],
    ['garbage after the key', `crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|zz`],
  ])('refuses %s with an SdpError', (_, line) => {
    expect(() => parseCryptoAttribute(line)).toThrow(SdpError);
  });
});

describe('SRTP offer/answer with SDES', () => {
  it('the offer is RTP/SAVP with one a=crypto per suite, tags 1 and 2, fresh 30-octet keys from the Random', () => {
    const o = createOffer({ ...CALLER, codecs: ['PCMU'], srtp: true }, random());
    expect(o.sdp).toContain('m=audio 40000 RTP/SAVP 0\r\n');
    const lines = cryptoLines(o.sdp);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
    expect(lines[1]).toMatch(/^a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}$/);
    expect(lines[0]!.slice(-40)).not.toBe(lines[1]!.slice(-40));
    // Seeded: the same seed gives the same keys, another seed other keys.
    expect(cryptoLines(createOffer({ ...CALLER, codecs: ['PCMU'], srtp: true }, random()).sdp)).toEqual(lines);
    expect(cryptoLines(createOffer({ ...CALLER, codecs: ['PCMU'], srtp: true }, new SeededRandom(2)).sdp)).not.toEqual(lines);
    // Hold and resume re-offers keep the keys (RFC 4568 §7.1.4).
    const held = holdOffer(o);
    expect(held.sdp).toContain('a=sendonly');
    expect(cryptoLines(held.sdp)).toEqual(lines);
    expect(cryptoLines(resumeOffer(held).sdp)).toEqual(lines);
  });

  it('the answer takes the first offered suite, same tag, its own key; both sides end up with mirrored keys that interwork', () => {
    const offer = createOffer({ ...CALLER, codecs: ['PCMU'], srtp: true }, random());
    const answer = accepted(answerOffer(offer.sdp, { ...CALLEE, srtp: true }, new SeededRandom('callee')));
    expect(answer.sdp).toContain('m=audio 41000 RTP/SAVP 0');
    const lines = cryptoLines(answer.sdp);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
    const offeredKey = cryptoLines(offer.sdp)[0]!.slice(-40);
    expect(lines[0]!.slice(-40)).not.toBe(offeredKey);
    const callee = answer.srtp!;
    expect(Buffer.concat([callee.receive.key, callee.receive.salt]).toString('base64')).toBe(offeredKey);
    const caller = applyAnswer(offer, answer.sdp).srtp!;
    expect(caller.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(caller.send).toEqual(callee.receive);
    expect(caller.receive).toEqual(callee.send);
    // The keys really work: what the caller protects, the callee unprotects.
    const rtp = encodeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 1, payload: Buffer.alloc(160, 0xff) });
    expect(new SrtpContext(callee.receive, callee.suite).unprotectRtp(new SrtpContext(caller.send, caller.suite).protectRtp(rtp))).toEqual(rtp);
  });

  it("the offerer's order decides, unusable lines are skipped (unknown suite, unsupported session parameter, bad key length, malformed)", () => {
    const offer = foreignOffer(
      'm=audio 30000 RTP/SAVP 0',
      `a=crypto:1 AEAD_AES_256_GCM inline:${RFC_KEY}`,
      `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} UNENCRYPTED_SRTP`,
      'a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:AAAA',
      'a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:%%%',
      `a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY}|2^31 KDR=0`,
      `a=crypto:6 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`,
    );
    const a = accepted(answerOffer(offer, { ...CALLEE, srtp: true }, random()));
    expect(cryptoLines(a.sdp)).toHaveLength(1);
    expect(cryptoLines(a.sdp)[0]).toMatch(/^a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:/);
    expect(a.srtp!.suite).toBe('AES_CM_128_HMAC_SHA1_32');
    expect(a.srtp!.receive.key).toEqual(Buffer.from(RFC_KEY, 'base64').subarray(0, 16));
  });

  it('no usable a=crypto → 488 with Warning 306; RTP/SAVP to a UE without SRTP → 488 with Warning 302', () => {
    const gcmOnly = foreignOffer('m=audio 30000 RTP/SAVP 0', `a=crypto:1 AEAD_AES_256_GCM inline:${RFC_KEY}`);
    const r = answerOffer(gcmOnly, { ...CALLEE, srtp: true }, random());
    expect(r).toMatchObject({ ok: false, status: 488, warning: '306 127.0.30.2 "Attribute not understood"' });
    const noCrypto = answerOffer(foreignOffer('m=audio 30000 RTP/SAVP 0'), { ...CALLEE, srtp: true }, random());
    expect(noCrypto).toMatchObject({ ok: false, warning: '306 127.0.30.2 "Attribute not understood"' });
    const plainUe = answerOffer(createOffer({ ...CALLER, srtp: true }, random()).sdp, CALLEE, random());
    expect(plainUe).toMatchObject({ ok: false, status: 488, warning: '302 127.0.30.2 "Incompatible transport protocol"' });
  });

  it('an SRTP-capable answerer still answers a plain RTP/AVP offer with plain RTP', () => {
    const a = accepted(answerOffer(createOffer({ ...CALLER, codecs: ['PCMU'] }, random()).sdp, { ...CALLEE, srtp: true }, random()));
    expect(a.sdp).toContain('m=audio 41000 RTP/AVP 0');
    expect(cryptoLines(a.sdp)).toEqual([]);
    expect(a.srtp).toBeUndefined();
  });

  it('a re-answer with the previous keys keeps our key, so a re-INVITE does not re-key the stream', () => {
    const offer = createOffer({ ...CALLER, codecs: ['PCMU'], srtp: true }, random());
    const first = accepted(answerOffer(offer.sdp, { ...CALLEE, srtp: true }, random()));
    const again = accepted(answerOffer(holdOffer(offer).sdp, { ...CALLEE, origin: first.origin, srtp: { previous: first.srtp! } }, new SeededRandom('x')));
    expect(cryptoLines(again.sdp)).toEqual(cryptoLines(first.sdp));
    expect(again.srtp!.send).toEqual(first.srtp!.send);
  });

  it('the offerer refuses answers that do not fit: plain RTP/AVP, a tag not offered, another suite, two lines', () => {
    const offer = createOffer({ ...CALLER, codecs: ['PCMU'], srtp: true }, random());
    const good = accepted(answerOffer(offer.sdp, { ...CALLEE, srtp: true }, random())).sdp;
    const line = cryptoLines(good)[0]!;
    expect(() => applyAnswer(offer, good.replace('RTP/SAVP', 'RTP/AVP').replace(`${line}\r\n`, ''))).toThrow(/RTP\/AVP, offer was RTP\/SAVP/);
    expect(() => applyAnswer(offer, good.replace('a=crypto:1 ', 'a=crypto:9 '))).toThrow(/tag 9 was not offered/);
    expect(() => applyAnswer(offer, good.replace('a=crypto:1 AES_CM_128_HMAC_SHA1_80', 'a=crypto:1 AES_CM_128_HMAC_SHA1_32'))).toThrow(/offered AES_CM_128_HMAC_SHA1_80/);
    expect(() => applyAnswer(offer, good.replace(line, `${line}\r\n${line.replace('crypto:1', 'crypto:2')}`))).toThrow(/exactly one a=crypto/);
    // A plain offer answered with RTP/SAVP is as wrong.
    const plain = createOffer({ ...CALLER, codecs: ['PCMU'] }, random());
    expect(() => applyAnswer(plain, good)).toThrow(SdpError);
  });

  it('cryptoAttributesByMedia keeps every session parameter of each m= section', () => {
    const text = foreignOffer('m=audio 30000 RTP/SAVP 0', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} KDR=0 WSH=64`)
      .concat(`m=video 0 RTP/SAVP 96\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY}\r\n`);
    expect(cryptoAttributesByMedia(text)).toEqual([
      [`crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} KDR=0 WSH=64`],
      [`crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY}`],
    ]);
  });
});
