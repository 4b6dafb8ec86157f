import { describe, expect, it } from 'vitest';
import { explain } from '../../src/trace/explain.js';
import type { PacketEvent } from '../../src/trace/events.js';
import { diameter, DOMAIN, experimentalResult, NODES, resultCode, serverAssignmentType, sip } from './fixtures.js';

function packet(from: string, to: string, bytes: Buffer, protocol: PacketEvent['protocol'] = 'sip'): PacketEvent {
  const addr = (n: string) => NODES.find((x) => x.name === n)?.address ?? n;
  return {
    type: 'packet', seq: 1, time: 0, node: from, direction: 'send', protocol, transport: protocol === 'diameter' ? 'tcp' : 'udp',
    local: { address: addr(from), port: 5060 }, remote: { address: addr(to), port: 5060 }, bytes,
  };
}
const ctx = { nodes: NODES };
const head: [string, string][] = [['Via', 'SIP/2.0/UDP 127.0.10.1;branch=z9hG4bK1'], ['From', '<sip:alice@x>;tag=1'], ['To', '<sip:alice@x>'], ['Call-ID', 'c'], ['CSeq', '2 REGISTER']];

describe('explain', () => {
  it('tells the unauthenticated REGISTER from the one with credentials, and a deregistration', () => {
    const first = explain(packet('alice', 'pcscf1', sip(`REGISTER sip:${DOMAIN} SIP/2.0`, [...head, ['Authorization', 'Digest username="a", nonce="", response=""']])), ctx);
    expect(first).toMatchObject({ summary: `REGISTER sip:${DOMAIN}`, label: 'REGISTER', clause: 'TS 24.229 §5.1.1.2.1; TS 24.228 §6.2' });
    expect(first.reason).toMatch(/no credentials yet/);
    const second = explain(packet('alice', 'pcscf1', sip(`REGISTER sip:${DOMAIN} SIP/2.0`, [...head, ['Authorization', 'Digest username="a", nonce="x", response="6629fae49393a05397450978507c4ef1", algorithm=AKAv1-MD5']])), ctx);
    expect(second.clause).toBe('TS 24.229 §5.1.1.5.1; RFC 3310 §3.2');
    expect(second.reason).toMatch(/RES/);
    const dereg = explain(packet('alice', 'pcscf1', sip(`REGISTER sip:${DOMAIN} SIP/2.0`, [...head, ['Contact', '<sip:alice@127.0.10.1>;expires=0']])), ctx);
    expect(dereg.reason).toMatch(/deregisters/);
    expect(dereg.clause).toBe('TS 24.229 §5.1.1.6; RFC 3261 §10.2.2');
  });

  it('words the same message by hop: the P-CSCF forward, the AKA 401 at the S-CSCF and at the P-CSCF', () => {
    const fwd = explain(packet('pcscf1', 'icscf1', sip(`REGISTER sip:${DOMAIN} SIP/2.0`, head)), ctx);
    expect(fwd.reason).toMatch(/adding Path/);
    const challenge = ['WWW-Authenticate', 'Digest realm="x", nonce="AAAA", algorithm=AKAv1-MD5'] as [string, string];
    const atS = explain(packet('scscf1', 'icscf1', sip('SIP/2.0 401 Unauthorized', [...head, challenge])), ctx);
    expect(atS).toMatchObject({ summary: '401 Unauthorized', label: '401', clause: 'TS 24.229 §5.4.1.2.1; TS 33.203 §6.1; RFC 3310 §3.1' });
    const atP = explain(packet('pcscf1', 'alice', sip('SIP/2.0 401 Unauthorized', [...head, challenge])), ctx);
    expect(atP.reason).toMatch(/removing ck and ik/);
    const digest = explain(packet('scscf1', 'icscf1', sip('SIP/2.0 401 Unauthorized', [...head, ['WWW-Authenticate', 'Digest realm="x", nonce="n", algorithm=MD5']])), ctx);
    expect(digest.clause).toBe('RFC 3261 §22.4; RFC 2617 §3.2.1');
  });

  it('reg event SUBSCRIBE/NOTIFY, INVITE origination vs termination, 200 by CSeq method', () => {
    const sub = explain(packet('pcscf1', 'scscf1', sip('SUBSCRIBE sip:alice@x SIP/2.0', [...head, ['Event', 'reg']])), ctx);
    expect(sub.clause).toBe('TS 24.229 §5.2.3; RFC 3680 §3');
    const notify = explain(packet('scscf1', 'pcscf1', sip('NOTIFY sip:p SIP/2.0', [...head, ['o', 'reg']])), ctx);
    expect(notify.clause).toBe('TS 24.229 §5.4.2.1.2; RFC 3680 §5');
    const mo = explain(packet('alice', 'pcscf1', sip('INVITE sip:bob@x SIP/2.0', head)), ctx);
    expect(mo.reason).toMatch(/mobile origination/);
    const mt = explain(packet('pcscf1', 'alice', sip('INVITE sip:alice@127.0.10.1 SIP/2.0', head)), ctx);
    expect(mt.reason).toMatch(/mobile termination/);
    const ok = explain(packet('scscf1', 'icscf1', sip('SIP/2.0 200 OK', [...head.slice(0, 4), ['CSeq', '1 INVITE']])), ctx);
    expect(ok.clause).toBe('RFC 3261 §13.3.1.4');
    expect(explain(packet('alice', 'pcscf1', sip('BYE sip:b SIP/2.0', head)), ctx).clause).toBe('RFC 3261 §15.1.1');
    expect(explain(packet('alice', 'pcscf1', sip('MESSAGE sip:b SIP/2.0', head)), ctx).clause).toMatch(/^RFC 3428 §4/);
  });

  it('Diameter: command names, experimental results, SAR assignment type, failures', () => {
    const uar = explain(packet('icscf1', 'hss1', diameter(300, true, []), 'diameter'), ctx);
    expect(uar).toMatchObject({ summary: 'UAR', clause: 'TS 29.228 §6.1.1' });
    expect(uar.reason).toBe('The I-CSCF asks the HSS whether this user may register here and which S-CSCF serves it.');
    const uaa = explain(packet('hss1', 'icscf1', diameter(300, false, [experimentalResult(2002)]), 'diameter'), ctx);
    expect(uaa.summary).toBe('UAA 2002 SUBSEQUENT_REGISTRATION');
    const maa = explain(packet('hss1', 'scscf1', diameter(303, false, [resultCode(2001)]), 'diameter'), ctx);
    expect(maa).toMatchObject({ summary: 'MAA 2001', label: 'MAA', clause: 'TS 29.228 §6.3' });
    const sar = explain(packet('scscf1', 'hss1', diameter(301, true, [serverAssignmentType(5)]), 'diameter'), ctx);
    expect(sar.summary).toBe('SAR USER_DEREGISTRATION');
    const lia = explain(packet('hss1', 'icscf1', diameter(302, false, [experimentalResult(5003)]), 'diameter'), ctx);
    expect(lia.reason).toMatch(/not registered/);
    const bad = explain(packet('hss1', 'scscf1', diameter(303, false, [resultCode(5012)]), 'diameter'), ctx);
    expect(bad.reason).toBe('The MAR failed: 5012 UNABLE_TO_COMPLY.');
  });

  it('never throws on garbage', () => {
    expect(explain(packet('alice', 'pcscf1', Buffer.from('\x00\x01garbage')), ctx).summary).toMatch(/unreadable/);
    expect(explain(packet('icscf1', 'hss1', Buffer.from([1, 0, 0, 99]), 'diameter'), ctx).summary).toMatch(/unreadable/);
    expect(explain(packet('alice', 'bob', Buffer.alloc(3), 'rtp'), ctx).label).toBe('RTP?');
  });
});
