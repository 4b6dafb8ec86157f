import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TransactionLayer } from '../../../src/sip/transaction/layer.js';
import type { FinalCause } from '../../../src/sip/transaction/types.js';
import { Headers, SipRequest, type SipResponse } from '../../../src/sip/message.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import { FakeTransport, wire } from '../helpers/fake-transport.js';
import type { TransportAddress } from '../../../src/sip/transport/types.js';

const PEER: TransportAddress = { transport: 'udp', address: '127.0.21.2', port: 5060 };

function invite(): SipRequest {
  return new SipRequest(
    'INVITE',
    'sip:bob@127.0.21.2',
    Headers.from([
      ['Via', 'SIP/2.0/UDP 127.0.21.9:5060;branch=z9hG4bKupstream'],
      ['Max-Forwards', '69'],
      ['Route', '<sip:127.0.21.2;lr>'],
      ['From', '"Alice" <sip:alice@127.0.21.1>;tag=a1'],
      ['To', '<sip:bob@127.0.21.2>'],
      ['Call-ID', 'call-1@127.0.21.1'],
      ['CSeq', '314 INVITE'],
      ['Contact', '<sip:alice@127.0.21.1:5060>'],
      ['Authorization', 'Digest username="alice"'],
      ['Content-Type', 'application/sdp'],
    ]),
    Buffer.from('v=0\r\n'),
  );
}

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  const layer = new TransactionLayer(transport, clock, new SeededRandom(11));
  const finals: Array<{ response: SipResponse; cause: FinalCause }> = [];
  const provisionals: SipResponse[] = [];
  let terminated = 0;
  const handlers = {
    provisional: (r: SipResponse) => provisionals.push(r),
    final: (response: SipResponse, cause: FinalCause) => finals.push({ response, cause }),
    terminated: () => terminated++,
  };
  return { clock, transport, layer, finals, provisionals, handlers, terminated: () => terminated };
}

function answer(t: FakeTransport, status: number, tag = 'b1'): SipResponse {
  return createResponse(t.requests('INVITE')[0]!.message, status, undefined, status === 100 ? undefined : tag);
}

describe('ClientInviteTransaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  it('retransmits with Timer A doubling without cap, and Timer B gives a 408 at 64*T1 while Calling', () => {
    const s = setup();
    const start = s.clock.now();
    s.layer.sendRequest(invite(), PEER, s.handlers);
    s.clock.advance(32_000 - 1);
    expect(s.transport.requests('INVITE').map((r) => r.at - start)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(s.finals).toHaveLength(0);
    s.clock.advance(1);
    expect(s.finals.map((f) => [f.response.status, f.cause])).toEqual([[408, 'timeout']]);
    expect(s.layer.counters.timeouts).toBe(1);
    expect(s.terminated()).toBe(1);
    expect(s.clock.pending).toBe(0);
  });

  it('a provisional stops Timer A and Timer B (the transaction waits in Proceeding)', () => {
    const s = setup();
    s.layer.sendRequest(invite(), PEER, s.handlers);
    s.transport.deliver(answer(s.transport, 180), PEER);
    s.clock.advance(100_000);
    expect(s.transport.requests('INVITE')).toHaveLength(1);
    expect(s.provisionals.map((p) => p.status)).toEqual([180]);
    expect(s.finals).toHaveLength(0);
  });

  it('acknowledges a 486 inside the transaction with the byte-exact ACK of §17.1.1.3', () => {
    const s = setup();
    const txn = s.layer.sendRequest(invite(), PEER, s.handlers);
    s.transport.deliver(answer(s.transport, 100), PEER);
    s.transport.deliver(answer(s.transport, 486), PEER);
    const acks = s.transport.requests('ACK');
    expect(acks).toHaveLength(1);
    expect(acks[0]!.to).toEqual(PEER);
    expect(acks[0]!.bytes.toString()).toBe(
      wire(
        'ACK sip:bob@127.0.21.2 SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.21.1:5060;branch=${txn.branch}`,
        'Max-Forwards: 69',
        'Route: <sip:127.0.21.2;lr>',
        'From: "Alice" <sip:alice@127.0.21.1>;tag=a1',
        'To: <sip:bob@127.0.21.2>;tag=b1',
        'Call-ID: call-1@127.0.21.1',
        'CSeq: 314 ACK',
        'Content-Length: 0',
      ),
    );
    expect(s.finals.map((f) => f.response.status)).toEqual([486]);
    expect(txn.state).toBe('completed');
  });

  it('Timer D absorbs retransmitted finals (answering each with the ACK again) for 32 s', () => {
    const s = setup();
    const txn = s.layer.sendRequest(invite(), PEER, s.handlers);
    s.transport.deliver(answer(s.transport, 486), PEER);
    s.clock.advance(5000);
    s.transport.deliver(answer(s.transport, 486), PEER);
    s.transport.deliver(answer(s.transport, 486), PEER);
    expect(s.finals).toHaveLength(1);
    const acks = s.transport.requests('ACK');
    expect(acks).toHaveLength(3);
    expect(new Set(acks.map((a) => a.bytes.toString())).size).toBe(1);
    expect(s.layer.counters.retransmissionsReceived).toBe(2);
    s.clock.advance(27_000 - 1);
    expect(txn.state).toBe('completed');
    s.clock.advance(1);
    expect(txn.state).toBe('terminated');
    // After Timer D the transaction is gone: a late 486 is stray, and nothing is sent for it.
    s.transport.deliver(answer(s.transport, 486), PEER);
    expect(s.transport.requests('ACK')).toHaveLength(3);
    expect(s.layer.counters.strayMessages).toBe(1);
  });

  it('passes every 2xx up in Accepted (RFC 6026) and ends after Timer M; the TU sends the 2xx ACK itself', () => {
    const s = setup();
    const txn = s.layer.sendRequest(invite(), PEER, s.handlers);
    s.transport.deliver(answer(s.transport, 200, 'fork1'), PEER);
    expect(txn.state).toBe('accepted');
    // Accepted keeps nothing of the INVITE for its 64·T1 (RFC 6026 §7.2): only the TU to pass 2xx to.
    expect(() => txn.request).toThrow(/accepted: its request was let go with its final response/);
    s.transport.deliver(answer(s.transport, 200, 'fork2'), PEER);
    s.transport.deliver(answer(s.transport, 200, 'fork1'), PEER);
    expect(s.finals.map((f) => f.response.headers.get('To'))).toEqual([
      '<sip:bob@127.0.21.2>;tag=fork1',
      '<sip:bob@127.0.21.2>;tag=fork2',
      '<sip:bob@127.0.21.2>;tag=fork1',
    ]);
    expect(s.transport.requests('ACK')).toHaveLength(0);
    s.clock.advance(32_000);
    expect(txn.state).toBe('terminated');
    // After Timer M, a 2xx goes to the TU as a stray (a proxy relays it statelessly, §16.7).
    const strays: SipResponse[] = [];
    s.layer.onStrayResponse((r) => strays.push(r));
    s.transport.deliver(answer(s.transport, 200, 'fork1'), PEER);
    expect(strays.map((r) => r.status)).toEqual([200]);
  });

  it('over TLS sends once and ends right after a non-2xx (Timer D = 0)', () => {
    const s = setup();
    const tls: TransportAddress = { transport: 'tls', address: '127.0.21.2', port: 5061 };
    const txn = s.layer.sendRequest(invite(), tls, s.handlers);
    s.clock.advance(10_000);
    expect(s.transport.requests('INVITE')).toHaveLength(1);
    expect(s.transport.requests('INVITE')[0]!.message.headers.get('Via')).toBe(`SIP/2.0/TLS 127.0.21.1:5061;branch=${txn.branch}`);
    s.transport.deliver(answer(s.transport, 603), tls);
    s.clock.advance(0);
    expect(txn.state).toBe('terminated');
    expect(s.transport.requests('ACK')).toHaveLength(1);
  });

  it('CANCEL waits for a provisional (§9.1), then goes out with the INVITE branch in its own transaction', () => {
    const s = setup();
    const txn = s.layer.sendRequest(invite(), PEER, s.handlers);
    s.layer.cancel(txn, [['Reason', 'SIP;cause=200;text="Call completed elsewhere"']]);
    expect(s.transport.requests('CANCEL')).toHaveLength(0);
    s.transport.deliver(answer(s.transport, 180), PEER);
    const cancels = s.transport.requests('CANCEL');
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.bytes.toString()).toBe(
      wire(
        'CANCEL sip:bob@127.0.21.2 SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.21.1:5060;branch=${txn.branch}`,
        'Max-Forwards: 69',
        'Route: <sip:127.0.21.2;lr>',
        'From: "Alice" <sip:alice@127.0.21.1>;tag=a1',
        'To: <sip:bob@127.0.21.2>',
        'Call-ID: call-1@127.0.21.1',
        'CSeq: 314 CANCEL',
        'Reason: SIP;cause=200;text="Call completed elsewhere"',
        'Content-Length: 0',
      ),
    );
    // The 200 for the CANCEL and the 487 for the INVITE go to their own transactions.
    const ok = createResponse(cancels[0]!.message, 200, undefined, 'b1');
    s.transport.deliver(ok, PEER);
    s.transport.deliver(answer(s.transport, 487), PEER);
    expect(s.finals.map((f) => f.response.status)).toEqual([487]);
  });

  it('a CANCEL left unanswered by a 487 ends the INVITE with a synthetic 487 after 64*T1 (§9.1)', () => {
    const s = setup();
    const txn = s.layer.sendRequest(invite(), PEER, s.handlers);
    s.transport.deliver(answer(s.transport, 180), PEER);
    s.layer.cancel(txn);
    expect(s.transport.requests('CANCEL')).toHaveLength(1);
    s.clock.advance(32_000);
    expect(s.finals.map((f) => [f.response.status, f.cause])).toEqual([[487, 'timeout']]);
  });

  it('a CANCEL before any provisional is dropped when a final arrives first', () => {
    const s = setup();
    const txn = s.layer.sendRequest(invite(), PEER, s.handlers);
    s.layer.cancel(txn);
    s.transport.deliver(answer(s.transport, 486), PEER);
    s.transport.deliver(answer(s.transport, 180), PEER);
    expect(s.transport.requests('CANCEL')).toHaveLength(0);
  });
});
