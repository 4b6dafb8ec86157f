import { describe, expect, it } from 'vitest';
import { parse } from 'sdp-transform';
import { SeededRandom } from '../../src/util/random.js';
import {
  answerOffer,
  applyAnswer,
  createOffer,
  holdOffer,
  parseRemoteMedia,
  resumeOffer,
  SdpError,
  type AcceptedAnswer,
} from '../../src/sdp/index.js';

const random = () => new SeededRandom('sdp-test');
const CALLER = { address: '127.0.30.1', port: 40000 };
const CALLEE = { address: '127.0.30.2', port: 41000 };

/** An offer as another vendor's UE would write it, not produced by our writer. */
function foreignOffer(mLines: string, extra = ''): string {
  return ['v=0', 'o=other 123 456 IN IP4 127.0.40.1', 's=call', 'c=IN IP4 127.0.40.1', 't=0 0', mLines, extra]
    .filter(Boolean)
    .join('\r\n')
    .concat('\r\n');
}

function accepted(r: ReturnType<typeof answerOffer>): AcceptedAnswer {
  if (!r.ok) throw new Error(`expected an answer, got 488 ${r.warning}`);
  return r;
}

describe('createOffer', () => {
  it('offers the default codec table in order, CRLF lines, origin from the injected Random', () => {
    const o = createOffer(CALLER, random());
    expect(o.sdp.split('\r\n').slice(0, 6)).toEqual([
      'v=0',
      `o=- ${o.origin.sessionId} ${o.origin.sessionVersion} IN IP4 127.0.30.1`,
      's=-',
      'c=IN IP4 127.0.30.1',
      't=0 0',
      'm=audio 40000 RTP/AVP 0 8 96 97 98 99',
    ]);
    expect(o.sdp).toContain('a=rtpmap:96 AMR-WB/16000\r\n');
    expect(o.sdp).toContain('a=fmtp:96 octet-align=1\r\n');
    expect(o.sdp).toContain('a=rtpmap:97 opus/48000/2\r\n');
    expect(o.sdp).toContain('a=rtpmap:98 telephone-event/8000\r\n');
    expect(o.sdp).toContain('a=fmtp:98 0-15\r\n');
    expect(o.sdp).toContain('a=sendrecv\r\n');
    expect(o.sdp.endsWith('\r\n')).toBe(true);
    // Same seed → same session id; another seed → another.
    expect(createOffer(CALLER, random()).origin).toEqual(o.origin);
    expect(createOffer(CALLER, new SeededRandom('other')).origin.sessionId).not.toBe(o.origin.sessionId);
  });

  it('writes the RFC 3312 precondition lines when asked, and sdp-transform reads them back', () => {
    const o = createOffer({ ...CALLER, codecs: ['PCMU'], preconditions: true }, random());
    const lines = o.sdp.split('\r\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'a=curr:qos local none',
        'a=curr:qos remote none',
        'a=des:qos mandatory local sendrecv',
        'a=des:qos optional remote sendrecv',
      ]),
    );
    const remote = parseRemoteMedia(o.sdp);
    expect(remote.preconditions).toEqual({
      current: [
        { kind: 'curr', statusType: 'local', direction: 'none' },
        { kind: 'curr', statusType: 'remote', direction: 'none' },
      ],
      desired: [
        { kind: 'des', strength: 'mandatory', statusType: 'local', direction: 'sendrecv' },
        { kind: 'des', strength: 'optional', statusType: 'remote', direction: 'sendrecv' },
      ],
      confirm: [],
    });
    expect(createOffer(CALLER, random()).sdp).not.toContain('a=curr:');
  });
});

describe('answerOffer (RFC 3264 §6)', () => {
  it('picks the first offered codec we support, keeping the offerer payload type numbers', () => {
    const offer = foreignOffer(
      'm=audio 5004 RTP/AVP 97 8 0 101',
      'a=rtpmap:97 AMR-WB/16000\r\na=fmtp:97 mode-set=0,1,2\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15',
    );
    // AMR-WB is offered first but in bandwidth-efficient mode (no octet-align=1): not compatible (RFC 4867 §8.3.1).
    const a = accepted(answerOffer(offer, CALLEE, random()));
    expect(a.chosen).toEqual({ payloadType: 8, name: 'PCMA', clockRate: 8000, channels: 1 });
    expect(a.telephoneEvent).toBe(101);
    const m = parse(a.sdp).media;
    expect(m).toHaveLength(1);
    expect(m[0]!.payloads).toBe('8 101');
    expect(m[0]!.port).toBe(41000);
    expect(a.remote).toMatchObject({ address: '127.0.40.1', port: 5004, rtcpPort: 5005, pt: 8 });
  });

  it('follows the offerer preference, not ours', () => {
    const o = createOffer({ ...CALLER, codecs: ['PCMA', 'PCMU'] }, random());
    expect(accepted(answerOffer(o.sdp, { ...CALLEE, codecs: ['PCMU', 'PCMA'] }, random())).chosen.name).toBe('PCMA');
    expect(accepted(answerOffer(o.sdp, { ...CALLEE, codecs: ['PCMU'] }, random())).chosen.name).toBe('PCMU');
  });

  it('accepts octet-aligned AMR-WB and opus by rtpmap, case-insensitively', () => {
    const offer = foreignOffer(
      'm=audio 5004 RTP/AVP 100 111',
      'a=rtpmap:100 amr-wb/16000\r\na=fmtp:100 octet-align=1; mode-change-capability=2\r\na=rtpmap:111 OPUS/48000/2',
    );
    const a = accepted(answerOffer(offer, CALLEE, random()));
    expect(a.chosen).toMatchObject({ payloadType: 100, name: 'AMR-WB', clockRate: 16000 });
    const b = accepted(answerOffer(offer, { ...CALLEE, codecs: ['opus', 'PCMU'] }, random()));
    expect(b.chosen).toMatchObject({ payloadType: 111, name: 'opus', clockRate: 48000, channels: 2 });
  });

  it('no common codec → 488 with Warning 305; no audio at all → 488 with Warning 304', () => {
    const g729 = foreignOffer('m=audio 5004 RTP/AVP 18', 'a=rtpmap:18 G729/8000');
    const r = answerOffer(g729, CALLEE, random());
    expect(r).toEqual({ ok: false, status: 488, warning: '305 127.0.30.2 "Incompatible media format"', reason: 'no common audio codec' });
    const video = foreignOffer('m=video 5006 RTP/AVP 96', 'a=rtpmap:96 H264/90000');
    const v = answerOffer(video, { ...CALLEE, warnAgent: 'ue2.ims.test' }, random());
    expect(v).toMatchObject({ ok: false, status: 488, warning: '304 ue2.ims.test "Media type not available"' });
  });

  it('keeps the m-line order and declines the streams it does not take with port 0', () => {
    const offer = foreignOffer(
      'm=video 5006 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=audio 5004 RTP/AVP 0\r\nm=audio 5008 RTP/AVP 8',
    );
    const a = accepted(answerOffer(offer, CALLEE, random()));
    const m = parse(a.sdp).media;
    expect(m.map((x) => [x.type, x.port, String(x.payloads)])).toEqual([
      ['video', 0, '96'],
      ['audio', 41000, '0'],
      ['audio', 0, '8'],
    ]);
  });

  it('mirrors the direction: sendonly↔recvonly, inactive stays inactive, and narrows by our own', () => {
    const base = createOffer({ ...CALLER, codecs: ['PCMU'] }, random());
    const dir = (d: 'sendonly' | 'recvonly' | 'inactive' | 'sendrecv', local?: 'recvonly') =>
      accepted(answerOffer(createOffer({ ...CALLER, codecs: ['PCMU'], direction: d }, random()).sdp, { ...CALLEE, direction: local }, random()))
        .direction;
    expect(dir('sendonly')).toBe('recvonly');
    expect(dir('recvonly')).toBe('sendonly');
    expect(dir('inactive')).toBe('inactive');
    expect(dir('sendrecv')).toBe('sendrecv');
    expect(dir('sendrecv', 'recvonly')).toBe('recvonly');
    expect(accepted(answerOffer(base.sdp, CALLEE, random())).sdp).toContain('a=sendrecv\r\n');
  });

  it('answers preconditions from the answerer point of view (RFC 3312 §5.1.1)', () => {
    const o = createOffer({ ...CALLER, preconditions: true }, random());
    const a = accepted(answerOffer(o.sdp, CALLEE, random()));
    expect(a.preconditions).toBe(true);
    const pre = parseRemoteMedia(a.sdp).preconditions!;
    expect(pre.desired).toEqual([
      { kind: 'des', strength: 'mandatory', statusType: 'local', direction: 'sendrecv' },
      { kind: 'des', strength: 'mandatory', statusType: 'remote', direction: 'sendrecv' },
    ]);
    expect(pre.confirm).toEqual([{ kind: 'conf', statusType: 'remote', direction: 'sendrecv' }]);
  });

  it('a re-answer keeps the session id and increments the version (RFC 3264 §8)', () => {
    const o = createOffer(CALLER, random());
    const first = accepted(answerOffer(o.sdp, CALLEE, random()));
    const again = accepted(answerOffer(holdOffer(o).sdp, { ...CALLEE, origin: first.origin }, random()));
    expect(again.origin.sessionId).toBe(first.origin.sessionId);
    expect(BigInt(again.origin.sessionVersion)).toBe(BigInt(first.origin.sessionVersion) + 1n);
    expect(again.direction).toBe('recvonly');
  });
});

describe('applyAnswer and hold/resume (RFC 3264 §7, §8.4)', () => {
  it('the offerer learns the chosen codec and where to send', () => {
    const o = createOffer(CALLER, random());
    const a = accepted(answerOffer(o.sdp, { ...CALLEE, codecs: ['PCMA', 'telephone-event'] }, random()));
    const applied = applyAnswer(o, a.sdp);
    expect(applied.chosen).toEqual({ payloadType: 8, name: 'PCMA', clockRate: 8000, channels: 1 });
    expect(applied.telephoneEvent).toBe(98);
    expect(applied.direction).toBe('sendrecv');
    expect(applied.remote).toMatchObject({ address: '127.0.30.2', port: 41000, rtcpPort: 41001 });
  });

  it('hold goes sendonly with version + 1, the answer is recvonly, resume goes back to sendrecv', () => {
    const o = createOffer(CALLER, random());
    const held = holdOffer(o);
    expect(held.sdp).toContain('a=sendonly\r\n');
    expect(held.origin.sessionId).toBe(o.origin.sessionId);
    expect(BigInt(held.origin.sessionVersion)).toBe(BigInt(o.origin.sessionVersion) + 1n);
    const a = accepted(answerOffer(held.sdp, CALLEE, random()));
    expect(a.sdp).toContain('a=recvonly\r\n');
    expect(applyAnswer(held, a.sdp).direction).toBe('sendonly');
    const resumed = resumeOffer(held);
    expect(resumed.sdp).toContain('a=sendrecv\r\n');
    expect(BigInt(resumed.origin.sessionVersion)).toBe(BigInt(o.origin.sessionVersion) + 2n);
    // A recvonly stream put on hold becomes inactive (§8.4).
    expect(holdOffer(createOffer({ ...CALLER, direction: 'recvonly' }, random())).direction).toBe('inactive');
  });

  it('rejects answers that do not answer the offer', () => {
    const o = createOffer({ ...CALLER, codecs: ['PCMU'] }, random());
    const twoLines = foreignOffer('m=audio 5004 RTP/AVP 0\r\nm=audio 5006 RTP/AVP 0');
    expect(() => applyAnswer(o, twoLines)).toThrow(/2 m= lines/);
    expect(() => applyAnswer(o, foreignOffer('m=audio 5004 RTP/AVP 8'))).toThrow(SdpError);
    const held = holdOffer(o);
    expect(() => applyAnswer(held, foreignOffer('m=audio 5004 RTP/AVP 0', 'a=sendonly'))).toThrow(/direction/);
  });
});

describe('malformed SDP', () => {
  const cases: [string, string, RegExp][] = [
    ['empty', '', /empty/],
    ['no v=', 'o=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n', /v=0/],
    ['bad o=', 'v=0\r\no=- x 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n', /o=/],
    ['junk line', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nhello\r\n', /line 4/],
    ['no m=', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n', /no m= line/],
    ['port', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n', /port out of range/],
    ['no c=', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n', /connection/],
    ['bad pt', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5000 RTP/AVP 300\r\n', /payload type/],
  ];
  it.each(cases)('%s → SdpError with a reason', (_name, text, reason) => {
    let err: unknown;
    try {
      answerOffer(text, CALLEE, random());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SdpError);
    expect((err as SdpError).reason).toMatch(reason);
  });

  it('parseRemoteMedia reads a=rtcp (RFC 3605) and media-level c=', () => {
    const r = parseRemoteMedia(
      foreignOffer('m=audio 5004 RTP/AVP 0', 'c=IN IP4 127.0.40.9\r\na=rtcp:6000\r\na=sendonly'),
    );
    expect(r).toMatchObject({ address: '127.0.40.9', port: 5004, rtcpPort: 6000, pt: 0, direction: 'sendonly' });
    expect(r.codec.name).toBe('PCMU');
  });
});
