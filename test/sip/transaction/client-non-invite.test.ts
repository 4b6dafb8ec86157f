import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TransactionLayer } from '../../../src/sip/transaction/layer.js';
import type { FinalCause } from '../../../src/sip/transaction/types.js';
import { Headers, SipRequest, type SipResponse } from '../../../src/sip/message.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import { FakeTransport, flush } from '../helpers/fake-transport.js';
import type { TransportAddress } from '../../../src/sip/transport/types.js';

const PEER: TransportAddress = { transport: 'udp', address: '127.0.21.2', port: 5060 };

function options(): SipRequest {
  return new SipRequest(
    'OPTIONS',
    'sip:bob@127.0.21.2',
    Headers.from([
      ['Max-Forwards', '70'],
      ['From', '<sip:alice@127.0.21.1>;tag=a1'],
      ['To', '<sip:bob@127.0.21.2>'],
      ['Call-ID', 'c1@127.0.21.1'],
      ['CSeq', '1 OPTIONS'],
    ]),
  );
}

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  const layer = new TransactionLayer(transport, clock, new SeededRandom(7));
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

/** A response to what was actually sent, as the peer would build it. */
function answer(t: FakeTransport, status: number): SipResponse {
  const sent = t.requests()[0]!.message;
  return createResponse(sent, status, undefined, 'b1');
}

describe('ClientNonInviteTransaction (RFC 3261 §17.1.2)', () => {
  it('retransmits with Timer E at T1, 2T1, 4T1 … capped at T2, and Timer F ends it with a 408 at 64*T1', async () => {
    const s = setup();
    const start = s.clock.now();
    s.layer.sendRequest(options(), PEER, s.handlers);
    s.clock.advance(64 * 500 - 1);
    const times = s.transport.requests('OPTIONS').map((r) => r.at - start);
    expect(times).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(s.finals).toHaveLength(0);
    s.clock.advance(1);
    expect(s.finals).toHaveLength(1);
    expect(s.finals[0]!.cause).toBe('timeout');
    expect(s.finals[0]!.response.status).toBe(408);
    expect(s.finals[0]!.response.headers.get('CSeq')).toBe('1 OPTIONS');
    expect(s.terminated()).toBe(1);
    expect(s.layer.counters.timeouts).toBe(1);
    expect(s.layer.counters.retransmissionsSent).toBe(10);
    expect(s.layer.size.client).toBe(0);
    // Every retransmission is the same bytes: the same branch, so the server sees one transaction.
    const bytes = new Set(s.transport.requests().map((r) => r.bytes.toString()));
    expect(bytes.size).toBe(1);
  });

  it('pushes its own Via with a z9hG4bK branch from the injected Random', () => {
    const s = setup();
    const txn = s.layer.sendRequest(options(), PEER, s.handlers);
    const via = s.transport.requests()[0]!.message.headers.get('Via');
    expect(via).toBe(`SIP/2.0/UDP 127.0.21.1:5060;branch=${txn.branch}`);
    expect(txn.branch).toMatch(/^z9hG4bK[0-9a-f]{16}$/);
    const again = new TransactionLayer(new FakeTransport(new FakeClock()), new FakeClock(), new SeededRandom(7));
    expect(again.newBranch()).toBe(txn.branch);
  });

  it('after a provisional retransmits every T2; a final moves it to Completed and Timer K (T4) ends it', () => {
    const s = setup();
    const start = s.clock.now();
    s.layer.sendRequest(options(), PEER, s.handlers);
    s.clock.advance(600);
    s.transport.deliver(answer(s.transport, 100), PEER);
    expect(s.provisionals.map((r) => r.status)).toEqual([100]);
    s.clock.advance(10_000);
    // 0, 500 in Trying; then the pending timer at 1500 re-arms with T2: 5500, 9500.
    expect(s.transport.requests().map((r) => r.at - start)).toEqual([0, 500, 1500, 5500, 9500]);
    s.transport.deliver(answer(s.transport, 200), PEER);
    expect(s.finals.map((f) => [f.response.status, f.cause])).toEqual([[200, 'response']]);
    // A retransmitted final in Completed is absorbed.
    s.transport.deliver(answer(s.transport, 200), PEER);
    expect(s.finals).toHaveLength(1);
    expect(s.layer.counters.retransmissionsReceived).toBe(1);
    s.clock.advance(4999);
    expect(s.terminated()).toBe(0);
    s.clock.advance(1);
    expect(s.terminated()).toBe(1);
    expect(s.transport.requests()).toHaveLength(5);
  });

  it('in Completed holds neither the request nor the TU handlers, but still reports its termination', () => {
    const s = setup();
    let finals = 0;
    let ended = 0;
    const txn = s.layer.sendRequest(options(), PEER, { final: () => finals++, terminated: () => ended++ });
    expect(txn.request.method).toBe('OPTIONS');
    s.transport.deliver(answer(s.transport, 200), PEER);
    expect(finals).toBe(1);
    // §17.1.2.2: Completed only absorbs retransmitted finals for Timer K; the request is let go.
    expect(() => txn.request).toThrow(/completed: its request was let go with its final response \(RFC 3261 §17\.1\.2\.2\)/);
    expect(txn.method).toBe('OPTIONS');
    s.transport.deliver(answer(s.transport, 200), PEER);
    expect(finals).toBe(1);
    s.clock.advance(5000);
    expect(ended).toBe(1);
    expect(s.layer.size.client).toBe(0);
  });

  it('over TCP sends once (no Timer E) and ends as soon as the final arrives (Timer K = 0)', () => {
    const s = setup();
    const tcp: TransportAddress = { ...PEER, transport: 'tcp' };
    s.layer.sendRequest(options(), tcp, s.handlers);
    s.clock.advance(20_000);
    expect(s.transport.requests()).toHaveLength(1);
    expect(s.transport.requests()[0]!.message.headers.get('Via')).toMatch(/^SIP\/2\.0\/TCP 127\.0\.21\.1:5060;branch=/);
    s.transport.deliver(answer(s.transport, 404), tcp);
    expect(s.finals[0]!.response.status).toBe(404);
    s.clock.advance(0);
    expect(s.terminated()).toBe(1);
  });

  it('turns a transport error into a synthetic 503 (§8.1.3.1, §17.1.4)', async () => {
    const s = setup();
    s.transport.refuse = () => true;
    s.layer.sendRequest(options(), PEER, s.handlers);
    await flush();
    expect(s.finals.map((f) => [f.response.status, f.cause])).toEqual([[503, 'transport-error']]);
    expect(s.layer.counters.transportErrors).toBe(1);
    expect(s.layer.size.client).toBe(0);
    s.clock.advance(60_000);
    expect(s.finals).toHaveLength(1);
  });

  it('ignores a response whose CSeq method differs (§17.1.3) and hands it up as stray', () => {
    const s = setup();
    const strays: SipResponse[] = [];
    s.layer.onStrayResponse((r) => strays.push(r));
    s.layer.sendRequest(options(), PEER, s.handlers);
    const r = answer(s.transport, 200);
    r.headers.set('CSeq', '1 INFO');
    s.transport.deliver(r, PEER);
    expect(s.finals).toHaveLength(0);
    expect(strays).toHaveLength(1);
  });
});
