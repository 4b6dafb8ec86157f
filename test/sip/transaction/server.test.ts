import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TransactionLayer, type TransactionLayerOptions } from '../../../src/sip/transaction/layer.js';
import type { ServerTransaction, ServerTermination } from '../../../src/sip/transaction/types.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import { FakeTransport, wire } from '../helpers/fake-transport.js';
import type { TransportAddress } from '../../../src/sip/transport/types.js';

const UAC: TransportAddress = { transport: 'udp', address: '127.0.21.2', port: 5070 };

const INVITE = wire(
  'INVITE sip:bob@127.0.21.1 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.21.2:5070;branch=z9hG4bKinv1',
  'Max-Forwards: 70',
  'From: <sip:alice@127.0.21.2>;tag=a1',
  'To: <sip:bob@127.0.21.1>',
  'Call-ID: srv-1',
  'CSeq: 1 INVITE',
);
const ACK_NON2XX = wire(
  'ACK sip:bob@127.0.21.1 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.21.2:5070;branch=z9hG4bKinv1',
  'Max-Forwards: 70',
  'From: <sip:alice@127.0.21.2>;tag=a1',
  'To: <sip:bob@127.0.21.1>;tag=b1',
  'Call-ID: srv-1',
  'CSeq: 1 ACK',
);
const MESSAGE = wire(
  'MESSAGE sip:bob@127.0.21.1 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.21.2:5070;branch=z9hG4bKmsg1',
  'Max-Forwards: 70',
  'From: <sip:alice@127.0.21.2>;tag=a1',
  'To: <sip:bob@127.0.21.1>',
  'Call-ID: srv-2',
  'CSeq: 7 MESSAGE',
);

function setup(options: TransactionLayerOptions = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  const layer = new TransactionLayer(transport, clock, new SeededRandom(3), options);
  const requests: Array<{ txn: ServerTransaction; request: SipRequest }> = [];
  const ended: ServerTermination[] = [];
  layer.onRequest((txn, request) => {
    requests.push({ txn, request });
    txn.onTerminated((r) => ended.push(r));
  });
  return { clock, transport, layer, requests, ended, start: clock.now() };
}

describe('ServerInviteTransaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  it('sends 100 (Trying) after 200 ms when the TU has not answered', () => {
    const s = setup();
    s.transport.deliver(INVITE, UAC);
    expect(s.requests).toHaveLength(1);
    s.clock.advance(199);
    expect(s.transport.responses()).toHaveLength(0);
    s.clock.advance(1);
    const trying = s.transport.responses(100);
    expect(trying).toHaveLength(1);
    expect(trying[0]!.to).toEqual(UAC);
    expect(trying[0]!.bytes.toString()).toBe(
      wire(
        'SIP/2.0 100 Trying',
        'Via: SIP/2.0/UDP 127.0.21.2:5070;branch=z9hG4bKinv1',
        'From: <sip:alice@127.0.21.2>;tag=a1',
        'To: <sip:bob@127.0.21.1>',
        'Call-ID: srv-1',
        'CSeq: 1 INVITE',
        'Content-Length: 0',
      ),
    );
  });

  it('sends no 100 when the TU answers within 200 ms, and 100 at once for a proxy', () => {
    const s = setup();
    s.transport.deliver(INVITE, UAC);
    s.requests[0]!.txn.respond(createResponse(s.requests[0]!.request, 180, undefined, 'b1'));
    s.clock.advance(1000);
    expect(s.transport.responses().map((r) => (r.message as { status: number }).status)).toEqual([180]);

    const p = setup({ trying: 'immediate' });
    p.transport.deliver(INVITE, UAC);
    expect(p.transport.responses(100)).toHaveLength(1);
  });

  it('answers an INVITE retransmission with the last response, without telling the TU again', () => {
    const s = setup();
    s.transport.deliver(INVITE, UAC);
    const { txn, request } = s.requests[0]!;
    txn.respond(createResponse(request, 180, undefined, 'b1'));
    s.transport.deliver(INVITE, UAC);
    expect(s.requests).toHaveLength(1);
    expect(s.transport.responses(180)).toHaveLength(2);
    expect(s.layer.counters.retransmissionsReceived).toBe(1);
  });

  it('retransmits a non-2xx final with Timer G (T1, 2T1 … T2) until the ACK, which it absorbs; Timer I ends it', () => {
    const s = setup({ trying: 'never' });
    const acks: SipRequest[] = [];
    s.layer.onAck((a) => acks.push(a));
    s.transport.deliver(INVITE, UAC);
    const { txn, request } = s.requests[0]!;
    txn.respond(createResponse(request, 486, undefined, 'b1'));
    s.clock.advance(16_000);
    expect(s.transport.responses(486).map((r) => r.at - s.start)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
    // A retransmitted INVITE in Completed gets the final again.
    s.transport.deliver(INVITE, UAC);
    expect(s.transport.responses(486)).toHaveLength(8);
    s.transport.deliver(ACK_NON2XX, UAC);
    expect(txn.state).toBe('confirmed');
    expect(acks).toHaveLength(0);
    s.clock.advance(4999);
    expect(s.transport.responses(486)).toHaveLength(8);
    // Retransmitted ACKs in Confirmed are absorbed too; Timer I (T4) then ends the transaction.
    s.transport.deliver(ACK_NON2XX, UAC);
    expect(acks).toHaveLength(0);
    expect(s.ended).toEqual([]);
    s.clock.advance(1);
    expect(s.ended).toEqual(['normal']);
    // Now the ACK matches nothing and goes to the TU as an end-to-end ACK would.
    s.transport.deliver(ACK_NON2XX, UAC);
    expect(acks).toHaveLength(1);
  });

  it('Timer H ends the transaction with a timeout when no ACK comes (64*T1)', () => {
    const s = setup({ trying: 'never' });
    s.transport.deliver(INVITE, UAC);
    const { txn, request } = s.requests[0]!;
    txn.respond(createResponse(request, 404, undefined, 'b1'));
    s.clock.advance(32_000 - 1);
    expect(s.ended).toEqual([]);
    s.clock.advance(1);
    expect(s.ended).toEqual(['timeout']);
    expect(s.layer.counters.timeouts).toBe(1);
    expect(s.layer.size.server).toBe(0);
  });

  it('in Accepted passes each 2xx from the TU on, absorbs INVITE retransmissions, ends after Timer L', () => {
    const s = setup({ trying: 'never' });
    s.transport.deliver(INVITE, UAC);
    const { txn, request } = s.requests[0]!;
    const ok = createResponse(request, 200, undefined, 'b1');
    txn.respond(ok);
    expect(txn.state).toBe('accepted');
    // The INVITE is let go with the final (RFC 6026 §7.1: Accepted only absorbs and relays).
    expect(() => txn.request).toThrow(/accepted: its request was let go with its final response/);
    // …and so is the 2xx: repeating it is the TU's job (§13.3.1.4); only its status stays.
    expect(txn.lastResponse).toBeUndefined();
    expect(txn.lastStatus).toBe(200);
    s.transport.deliver(INVITE, UAC);
    expect(s.transport.responses(200)).toHaveLength(1);
    txn.respond(ok);
    expect(s.transport.responses(200)).toHaveLength(2);
    s.clock.advance(32_000);
    expect(txn.state).toBe('terminated');
  });

  it('over TCP answers on the connection the request came in on, and Timer I is zero', () => {
    const s = setup({ trying: 'never' });
    const tcp: TransportAddress = { transport: 'tcp', address: '127.0.21.2', port: 40001 };
    s.transport.deliver(INVITE.replace('UDP 127.0.21.2:5070', 'TCP 127.0.21.2:5070'), tcp, 'conn-7');
    const { txn, request } = s.requests[0]!;
    txn.respond(createResponse(request, 486, undefined, 'b1'));
    s.clock.advance(10_000);
    const sent = s.transport.responses(486);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.options).toEqual({ connectionId: 'conn-7' });
    expect(sent[0]!.to).toEqual({ transport: 'tcp', address: '127.0.21.2', port: 5070 });
    s.transport.deliver(ACK_NON2XX.replace('UDP 127.0.21.2:5070', 'TCP 127.0.21.2:5070'), tcp, 'conn-7');
    s.clock.advance(0);
    expect(txn.state).toBe('terminated');
  });
});

describe('ServerNonInviteTransaction (RFC 3261 §17.2.2)', () => {
  it('drops retransmissions in Trying, repeats the provisional in Proceeding and the final in Completed; Timer J ends it', () => {
    const s = setup();
    s.transport.deliver(MESSAGE, UAC);
    s.transport.deliver(MESSAGE, UAC);
    expect(s.transport.responses()).toHaveLength(0);
    const { txn, request } = s.requests[0]!;
    txn.respond(createResponse(request, 100));
    s.transport.deliver(MESSAGE, UAC);
    expect(s.transport.responses(100)).toHaveLength(2);
    txn.respond(createResponse(request, 202, undefined, 'b1'));
    s.transport.deliver(MESSAGE, UAC);
    s.transport.deliver(MESSAGE, UAC);
    expect(s.transport.responses(202)).toHaveLength(3);
    expect(s.requests).toHaveLength(1);
    // A second final from the TU is ignored (§17.2.2: Completed only retransmits).
    txn.respond(createResponse(request, 500, undefined, 'b1'));
    expect(s.transport.responses(500)).toHaveLength(0);
    s.clock.advance(32_000 - 1);
    expect(txn.state).toBe('completed');
    s.clock.advance(1);
    expect(txn.state).toBe('terminated');
    // After Timer J the same request is new again.
    s.transport.deliver(MESSAGE, UAC);
    expect(s.requests).toHaveLength(2);
  });

  it('lets the request go at Completed and still answers retransmissions with the same final bytes', () => {
    const s = setup();
    s.transport.deliver(MESSAGE, UAC);
    const { txn, request } = s.requests[0]!;
    expect(txn.request).toBe(request);
    expect(txn.received.message).toBe(request);
    txn.respond(createResponse(request, 202, undefined, 'b1'));
    // 32 s of Completed keep only the final response (§17.2.2), not the request, parsed or raw.
    expect(() => txn.request).toThrow(/completed: its request was let go with its final response \(RFC 3261 §17\.2\.2\)/);
    expect(() => txn.received).toThrow(/let go/);
    expect(txn.method).toBe('MESSAGE');
    // The final is kept as its bytes; asked for, it is read back from them.
    expect(txn.lastResponse?.status).toBe(202);
    expect(txn.lastResponse?.headers.get('To')).toBe('<sip:bob@127.0.21.1>;tag=b1');
    s.transport.deliver(MESSAGE, UAC);
    const finals = s.transport.responses(202);
    expect(finals).toHaveLength(2);
    expect(finals[1]!.bytes.equals(finals[0]!.bytes)).toBe(true);
  });

  it('answers 500 when the TU throws, and the layer keeps working', () => {
    const s = setup();
    s.layer.onRequest(() => {
      throw new Error('TU bug');
    });
    s.transport.deliver(MESSAGE, UAC);
    expect(s.transport.responses(500)).toHaveLength(1);
    s.transport.deliver(MESSAGE, UAC);
    expect(s.transport.responses(500)).toHaveLength(2);
  });
});
