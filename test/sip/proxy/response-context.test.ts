import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TransactionLayer } from '../../../src/sip/transaction/layer.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import { ResponseContext } from '../../../src/sip/proxy/response-context.js';
import type { ServerTransaction } from '../../../src/sip/transaction/types.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import type { TransportAddress } from '../../../src/sip/transport/types.js';
import { FakeTransport, wire } from '../helpers/fake-transport.js';

const UAC: TransportAddress = { transport: 'udp', address: '127.0.21.9', port: 5060 };
const BOB: TransportAddress = { transport: 'udp', address: '127.0.21.2', port: 5060 };

const INVITE = wire(
  'INVITE sip:bob@example.test SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.21.9:5060;branch=z9hG4bKctx1',
  'Max-Forwards: 70',
  'From: <sip:alice@example.test>;tag=a1',
  'To: <sip:bob@example.test>',
  'Call-ID: ctx-1',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@127.0.21.9:5060>',
);

function proxied() {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock, '127.0.21.1', 5060);
  const layer = new TransactionLayer(transport, clock, new SeededRandom(1), { trying: 'immediate' });
  let ctx: ResponseContext | undefined;
  let upstream: ServerTransaction | undefined;
  layer.onRequest((txn, request) => {
    upstream = txn;
    ctx = new ResponseContext({ layer, timerC: 181_000, relayStateless: () => {} }, txn, request.method);
    ctx.fork({ uri: 'sip:bob@127.0.21.2' }, request.clone(), BOB, 'z9hG4bKbranch1');
  });
  transport.deliver(INVITE, UAC);
  const sent = transport.requests('INVITE').find((r) => r.to.address === BOB.address)!;
  const upstreamStatuses = () => transport.responses().filter((r) => r.to.address === UAC.address).map((r) => (r.message as SipResponse).status);
  return { clock, transport, ctx: ctx!, upstream: upstream!, sent, upstreamStatuses };
}

describe('ResponseContext after an INVITE is answered (RFC 3261 §16.7, RFC 6026)', () => {
  it('lets go of the forwarded copy and the collected finals, yet still relays a retransmitted 2xx until Timer L', () => {
    const p = proxied();
    expect(p.ctx.branches[0]!.request).toBeDefined();
    expect(p.ctx.branches[0]!.timerC?.running).toBe(true);
    const ok = createResponse(p.sent.message as SipRequest, 200, undefined, 'b1');
    p.transport.deliver(ok, BOB);
    expect(p.upstreamStatuses()).toEqual([100, 200]);
    // §16.7: the branch is done, so nothing of the request is needed any more: Timer C is gone with it.
    expect(p.ctx.branches[0]!.request).toBeUndefined();
    expect(p.ctx.branches[0]!.timerC).toBeUndefined();
    // The server transaction in Accepted keeps no response either (the 2xx is repeated by the UAS, §13.3.1.4)…
    expect(p.upstream.state).toBe('accepted');
    expect(p.upstream.lastResponse).toBeUndefined();
    expect(p.upstream.lastStatus).toBe(200);
    // …but the context still relays the UAS's retransmission of it upstream.
    p.transport.deliver(createResponse(p.sent.message as SipRequest, 200, undefined, 'b1'), BOB);
    expect(p.upstreamStatuses()).toEqual([100, 200, 200]);
  });

  it('a branch that never answers ends with a 408 upstream (Timer B, §17.1.1.2), and lets go of its copy then', () => {
    const p = proxied();
    p.clock.advance(64 * 500);
    expect(p.upstreamStatuses().slice(0, 2)).toEqual([100, 408]);
    expect(p.ctx.branches[0]!.request).toBeUndefined();
    expect(p.upstream.lastResponse?.status).toBe(408);
  });
});
