import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TransactionLayer } from '../../../src/sip/transaction/layer.js';
import { createResponse } from '../../../src/sip/transaction/response.js';
import { ProxyCore } from '../../../src/sip/proxy/proxy-core.js';
import type { ProxyDecision, Router } from '../../../src/sip/proxy/types.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { FakeTransport, wire, type SentRecord } from '../helpers/fake-transport.js';
import type { TransportAddress } from '../../../src/sip/transport/types.js';
import { TraceBus, type NoteEvent } from '../../../src/trace/events.js';

const UAC: TransportAddress = { transport: 'udp', address: '127.0.21.9', port: 5060 };
const BOB1: TransportAddress = { transport: 'udp', address: '127.0.21.2', port: 5060 };
const BOB2: TransportAddress = { transport: 'udp', address: '127.0.21.3', port: 5060 };

function invite(extra: string[] = [], opts: { uri?: string; maxForwards?: string | null; branch?: string; method?: string } = {}) {
  const method = opts.method ?? 'INVITE';
  return wire(
    `${method} ${opts.uri ?? 'sip:bob@example.test'} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.21.9:5060;branch=${opts.branch ?? 'z9hG4bKuac1'}`,
    ...(opts.maxForwards === null ? [] : [`Max-Forwards: ${opts.maxForwards ?? '70'}`]),
    'From: <sip:alice@example.test>;tag=a1',
    'To: <sip:bob@example.test>',
    'Call-ID: proxy-1',
    `CSeq: 1 ${method}`,
    'Contact: <sip:alice@127.0.21.9:5060>',
    ...extra,
  );
}

function setup(router: Router) {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock, '127.0.21.1', 5060);
  const layer = new TransactionLayer(transport, clock, new SeededRandom(1), { trying: 'immediate' });
  const proxy = new ProxyCore(layer, new SeededRandom(2), { router, resolveHost: (h) => (h === 'bob-host.test' ? '127.0.21.2' : undefined) });
  /** Responses the proxy sent upstream, by status. */
  const upstream = () => transport.responses().filter((r) => r.to.address === UAC.address).map((r) => (r.message as SipResponse).status);
  const forwarded = (to: TransportAddress, method = 'INVITE') =>
    transport.requests(method).filter((r) => r.to.address === to.address && r.to.port === to.port);
  /** The downstream answers the copy it received. */
  const reply = (rec: SentRecord, status: number, tag?: string) =>
    transport.deliver(createResponse(rec.message as SipRequest, status, undefined, tag), rec.to);
  return { clock, transport, layer, proxy, upstream, forwarded, reply };
}

const forwardTo = (...uris: string[]): Router => () => ({ action: 'forward', targets: uris.map((uri) => ({ uri })) });

describe('ProxyCore request validation (RFC 3261 §16.3)', () => {
  it('answers 483 Too Many Hops when Max-Forwards is 0, forwards nothing, and says why on the trace', async () => {
    const clock = new FakeClock();
    const trace = new TraceBus(clock);
    const notes: NoteEvent[] = [];
    trace.events$.subscribe((e) => e.type === 'note' && notes.push(e));
    const transport = new FakeTransport(clock, '127.0.21.1', 5060);
    const layer = new TransactionLayer(transport, clock, new SeededRandom(1), { trying: 'immediate' });
    new ProxyCore(layer, new SeededRandom(2), { router: forwardTo('sip:bob@127.0.21.2'), trace, node: 'p1' });
    transport.deliver(invite([], { maxForwards: '0' }), UAC);
    await Promise.resolve();
    expect(transport.responses().map((r) => (r.message as SipResponse).status)).toEqual([100, 483]);
    expect(transport.requests()).toHaveLength(0);
    expect(notes.map((n) => `${n.node} ${n.clause} ${n.text}`)).toContainEqual(
      'p1 RFC 3261 §16.3 INVITE refused with 483: Max-Forwards is 0: the request may not take another hop (§16.3 step 3)',
    );
  });

  it('answers 420 with Unsupported for an unknown Proxy-Require, and 416 for an unknown URI scheme', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2'));
    s.transport.deliver(invite(['Proxy-Require: foo, sec-agree'], { method: 'OPTIONS' }), UAC);
    const r420 = s.transport.responses(420)[0]!.message;
    expect(r420.headers.get('Unsupported')).toBe('foo, sec-agree');
    s.transport.deliver(invite([], { method: 'OPTIONS', uri: 'mailto:bob@example.test', branch: 'z9hG4bKuac2' }), UAC);
    expect(s.transport.responses(416)).toHaveLength(1);
  });

  it('detects a loop (482) when the request comes back unchanged, but lets a spiral through', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2'));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    const out = s.forwarded(BOB1)[0]!;
    // The next hop sends it straight back: same Request-URI, tags, Call-ID, CSeq, Route.
    const back = out.message.clone() as SipRequest;
    back.uri = 'sip:bob@example.test';
    back.headers.prepend('Via', 'SIP/2.0/UDP 127.0.21.2:5060;branch=z9hG4bKhop2');
    s.transport.deliver(back, BOB1);
    await Promise.resolve();
    expect(s.transport.responses(482).map((r) => r.to)).toEqual([{ transport: 'udp', address: '127.0.21.2', port: 5060 }]);
    // Re-targeted (another Request-URI): a spiral, forwarded again.
    const spiral = back.clone();
    spiral.uri = 'sip:bob@bob-host.test';
    spiral.headers.shift('Via');
    spiral.headers.prepend('Via', 'SIP/2.0/UDP 127.0.21.2:5060;branch=z9hG4bKhop3');
    s.transport.deliver(spiral, BOB1);
    await Promise.resolve();
    expect(s.transport.responses(482)).toHaveLength(1);
    expect(s.transport.requests('INVITE')).toHaveLength(2);
  });
});

describe('ProxyCore forwarding (RFC 3261 §16.4, §16.6)', () => {
  it('decrements Max-Forwards, pushes a Via whose branch carries the loop hash, and inserts Record-Route', async () => {
    const s = setup(() => ({ action: 'forward', targets: [{ uri: 'sip:bob@127.0.21.2:5060' }], recordRoute: true }));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    const out = s.forwarded(BOB1)[0]!;
    const m = out.message as SipRequest;
    expect(m.uri).toBe('sip:bob@127.0.21.2:5060');
    expect(m.headers.get('Max-Forwards')).toBe('69');
    expect(m.headers.list('Via')).toEqual([expect.stringMatching(/^SIP\/2\.0\/UDP 127\.0\.21\.1:5060;branch=z9hG4bK[0-9a-f]{16}\.[0-9a-f]{8}$/), 'SIP/2.0/UDP 127.0.21.9:5060;branch=z9hG4bKuac1']);
    expect(m.headers.getAll('Record-Route')).toEqual(['<sip:127.0.21.1:5060;lr>']);
    expect(out.to).toEqual(BOB1);
  });

  it('adds Max-Forwards: 70 when absent', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2'));
    s.transport.deliver(invite([], { maxForwards: null }), UAC);
    await Promise.resolve();
    expect(s.forwarded(BOB1)[0]!.message.headers.get('Max-Forwards')).toBe('70');
  });

  it('removes its own top Route (loose routing) and sends to the next Route, keeping the Request-URI', async () => {
    let seen: SipRequest | undefined;
    const s = setup((r, info) => {
      seen = r;
      expect(info.routedToUs).toBe(true);
      return { action: 'forward', targets: [{ uri: r.uri }] };
    });
    s.transport.deliver(invite(['Route: <sip:127.0.21.1;lr>, <sip:127.0.21.3;lr>']), UAC);
    await Promise.resolve();
    expect(seen!.headers.list('Route')).toEqual(['<sip:127.0.21.3;lr>']);
    const out = s.forwarded(BOB2)[0]!;
    expect((out.message as SipRequest).uri).toBe('sip:bob@example.test');
    expect(out.message.headers.list('Route')).toEqual(['<sip:127.0.21.3;lr>']);
  });

  it('interoperates with a strict router next (§16.6 step 6): Route head becomes the Request-URI', async () => {
    const s = setup((r) => ({ action: 'forward', targets: [{ uri: r.uri }] }));
    s.transport.deliver(invite(['Route: <sip:127.0.21.1;lr>, <sip:127.0.21.3>, <sip:127.0.21.2;lr>']), UAC);
    await Promise.resolve();
    const out = s.forwarded(BOB2)[0]!;
    expect((out.message as SipRequest).uri).toBe('sip:127.0.21.3');
    expect(out.message.headers.list('Route')).toEqual(['<sip:127.0.21.2;lr>', '<sip:bob@example.test>']);
  });

  it('undoes a strict router before it (§16.4): our URI in the Request-URI is replaced by the last Route', async () => {
    let uri = '';
    const s = setup((r) => {
      uri = r.uri;
      return { action: 'forward', targets: [{ uri: r.uri }] };
    });
    s.transport.deliver(invite(['Route: <sip:bob@127.0.21.2>'], { uri: 'sip:127.0.21.1;lr' }), UAC);
    await Promise.resolve();
    expect(uri).toBe('sip:bob@127.0.21.2');
    expect(s.forwarded(BOB1)[0]!.message.headers.has('Route')).toBe(false);
  });

  it('answers 480 for an empty target set and 500 when the router throws', async () => {
    const s = setup(() => ({ action: 'forward', targets: [] }));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    expect(s.upstream()).toEqual([100, 480]);
    const t = setup(() => {
      throw new Error('logic bug');
    });
    t.transport.deliver(invite(), UAC);
    await Promise.resolve();
    expect(t.upstream()).toEqual([100, 500]);
  });
});

describe('ProxyCore responses (RFC 3261 §16.7) and CANCEL (§16.10)', () => {
  it('forks to two UAS: a 486 and a 200 give the 200 upstream; 100 stays hop-by-hop, 180 is relayed', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2', 'sip:bob@127.0.21.3'));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    const a = s.forwarded(BOB1)[0]!;
    const b = s.forwarded(BOB2)[0]!;
    expect(a.message.headers.first('Via')).not.toBe(b.message.headers.first('Via'));
    s.reply(a, 100);
    s.reply(a, 486, 'x1');
    s.reply(b, 180, 'x2');
    s.reply(b, 200, 'x2');
    expect(s.upstream()).toEqual([100, 180, 200]);
    // The relayed 200 has the proxy's Via removed and the UAC's on top.
    const ok = s.transport.responses(200).find((r) => r.to.address === UAC.address)!;
    expect(ok.message.headers.list('Via')).toEqual(['SIP/2.0/UDP 127.0.21.9:5060;branch=z9hG4bKuac1']);
    // The 486 was acknowledged hop by hop by the proxy's client transaction.
    expect(s.forwarded(BOB1, 'ACK')).toHaveLength(1);
  });

  it('on a 2xx cancels the branch still ringing; its 487 is not relayed', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2', 'sip:bob@127.0.21.3'));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    const a = s.forwarded(BOB1)[0]!;
    const b = s.forwarded(BOB2)[0]!;
    s.reply(a, 180, 'x1');
    s.reply(b, 200, 'x2');
    const cancels = s.forwarded(BOB1, 'CANCEL');
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.message.headers.get('Via')).toBe(a.message.headers.first('Via'));
    expect(cancels[0]!.message.headers.get('Reason')).toBe('SIP;cause=200;text="Call completed elsewhere"');
    s.reply(cancels[0]!, 200);
    s.reply(a, 487, 'x1');
    expect(s.upstream()).toEqual([100, 180, 200]);
    // A second 2xx from a fork behind branch b is relayed too (RFC 6026: Accepted passes every 2xx up).
    s.reply(b, 200, 'x3');
    expect(s.upstream()).toEqual([100, 180, 200, 200]);
  });

  it('CANCEL from the UAC: 200 for the CANCEL, CANCEL downstream, the UAS 487 flows back', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2'));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    const a = s.forwarded(BOB1)[0]!;
    s.reply(a, 180, 'x1');
    s.transport.deliver(invite(['Reason: SIP;cause=487'], { method: 'CANCEL' }).replace('CSeq: 1 CANCEL', 'CSeq: 1 CANCEL'), UAC);
    expect(s.transport.responses(200).filter((r) => r.to.address === UAC.address).map((r) => r.message.headers.get('CSeq'))).toEqual(['1 CANCEL']);
    const down = s.forwarded(BOB1, 'CANCEL');
    expect(down).toHaveLength(1);
    expect(down[0]!.message.headers.get('Reason')).toBe('SIP;cause=487');
    s.reply(down[0]!, 200);
    s.reply(a, 487, 'x1');
    expect(s.upstream()).toEqual([100, 180, 200, 487]);
  });

  it('chooses 6xx over others, and with only failures sends the best one (401 with merged challenges)', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2', 'sip:bob@127.0.21.3'));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    const a = s.forwarded(BOB1)[0]!;
    const b = s.forwarded(BOB2)[0]!;
    const r1 = createResponse(a.message as SipRequest, 401, undefined, 'x1');
    r1.headers.append('WWW-Authenticate', 'Digest realm="one", nonce="1"');
    const r2 = createResponse(b.message as SipRequest, 407, undefined, 'x2');
    r2.headers.append('Proxy-Authenticate', 'Digest realm="two", nonce="2"');
    s.transport.deliver(r1, BOB1);
    expect(s.upstream()).toEqual([100]);
    s.transport.deliver(r2, BOB2);
    const best = s.transport.responses().find((r) => r.to.address === UAC.address && (r.message as SipResponse).status >= 400)!;
    expect((best.message as SipResponse).status).toBe(401);
    expect(best.message.headers.getAll('WWW-Authenticate')).toEqual(['Digest realm="one", nonce="1"']);
    expect(best.message.headers.getAll('Proxy-Authenticate')).toEqual(['Digest realm="two", nonce="2"']);
  });

  it('Timer C cancels a branch that rang but never answered (§16.8), and the 487 goes upstream', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2'));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    const a = s.forwarded(BOB1)[0]!;
    s.reply(a, 180, 'x1');
    s.clock.advance(180_999);
    expect(s.forwarded(BOB1, 'CANCEL')).toHaveLength(0);
    s.clock.advance(1);
    const c = s.forwarded(BOB1, 'CANCEL');
    expect(c).toHaveLength(1);
    s.reply(c[0]!, 200);
    s.reply(a, 487, 'x1');
    expect(s.upstream()).toEqual([100, 180, 487]);
  });

  it('with no answer at all the branch times out (Timer B) and the UAC gets 408', async () => {
    const s = setup(forwardTo('sip:bob@127.0.21.2'));
    s.transport.deliver(invite(), UAC);
    await Promise.resolve();
    s.clock.advance(32_000);
    expect(s.upstream()).toEqual([100, 408]);
  });

  it('relays an ACK for a 2xx and a stray 2xx statelessly', async () => {
    const s = setup((r) => ({ action: 'forward', targets: [{ uri: r.uri }] }));
    const ack = wire(
      'ACK sip:bob@127.0.21.2 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.21.9:5060;branch=z9hG4bKack1',
      'Max-Forwards: 70',
      'Route: <sip:127.0.21.1;lr>',
      'From: <sip:alice@example.test>;tag=a1',
      'To: <sip:bob@example.test>;tag=x2',
      'Call-ID: proxy-1',
      'CSeq: 1 ACK',
    );
    s.transport.deliver(ack, UAC);
    await new Promise((r) => setImmediate(r));
    s.transport.deliver(ack, UAC);
    await new Promise((r) => setImmediate(r));
    const out = s.forwarded(BOB1, 'ACK');
    expect(out).toHaveLength(2);
    expect(out[0]!.message.headers.has('Route')).toBe(false);
    expect(out[0]!.message.headers.get('Max-Forwards')).toBe('69');
    // Retransmissions of the ACK get the same branch (§16.11).
    expect(out[0]!.message.headers.first('Via')).toBe(out[1]!.message.headers.first('Via'));

    const stray = wire(
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 127.0.21.1:5060;branch=z9hG4bKgone.1',
      'Via: SIP/2.0/UDP 127.0.21.9:5060;branch=z9hG4bKuac1',
      'From: <sip:alice@example.test>;tag=a1',
      'To: <sip:bob@example.test>;tag=x9',
      'Call-ID: proxy-1',
      'CSeq: 1 INVITE',
    );
    s.transport.deliver(stray, BOB1);
    await Promise.resolve();
    const relayed = s.transport.responses(200);
    expect(relayed).toHaveLength(1);
    expect(relayed[0]!.to).toEqual(UAC);
    expect(relayed[0]!.message.headers.list('Via')).toEqual(['SIP/2.0/UDP 127.0.21.9:5060;branch=z9hG4bKuac1']);
  });

  it('a router may answer itself (respond decision), e.g. a registrar or a challenge', async () => {
    const s = setup((r): ProxyDecision => ({ action: 'respond', response: createResponse(r, 404, undefined, 't') }));
    s.transport.deliver(invite([], { method: 'MESSAGE' }), UAC);
    await Promise.resolve();
    expect(s.transport.responses(404)).toHaveLength(1);
    expect(s.transport.requests()).toHaveLength(0);
  });
});
