import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, newTrace, rawUdp, startNode, waitForNote } from '../sip/transport/helpers.js';

/** The transport layer's counters (issue 8 point 5): what came in, what went out, what was dropped and why. */
afterEach(closeAll);

const A = '127.0.52.101';
const B = '127.0.52.102';

const options = (port: number, from: number) =>
  `OPTIONS sip:${A}:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${B}:${from};branch=z9hG4bK-c1\r\nMax-Forwards: 70\r\n` +
  `From: <sip:b@${B}>;tag=1\r\nTo: <sip:a@${A}>\r\nCall-ID: c1@${B}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

describe('TransportLayer counters', () => {
  it('counts a received request, a 400 for garbage, a foreign response dropped, and what was sent', async () => {
    const { trace } = newTrace();
    const node = await startNode('a', A, trace);
    const port = node.layer.localAddress('udp').port;
    const peer = await rawUdp(B);

    const got = node.next(1);
    await peer.send(options(port, peer.port), port, A);
    const [m] = await got;
    expect(node.layer.counters.received.udp).toBe(1);

    // A request with an unreadable Content-Length: answered 400, counted as such, not received.
    const bad = options(port, peer.port).replace('Content-Length: 0', 'Content-Length: many');
    await peer.send(bad, port, A);
    expect((await peer.next()).toString()).toMatch(/^SIP\/2\.0 400 /);
    expect(node.layer.counters.badRequests).toBe(1);
    expect(node.layer.counters.sent.udp).toBe(1);

    // A response whose top Via is not ours: §18.1.2 discards it.
    const dropped = waitForNote(trace, /response 200 dropped/);
    await peer.send(
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.52.200:5060;branch=z9hG4bK-x\r\nFrom: <sip:x@h>;tag=1\r\nTo: <sip:y@h>;tag=2\r\n` +
        `Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      port,
      A,
    );
    await dropped;
    const snap = node.layer.counters.snapshot();
    expect(snap.dropped).toEqual({ 'response not ours': 1 });
    expect(snap.received).toEqual({ udp: 2, tcp: 0, tls: 0 });

    // A response sent back to the peer counts as sent over UDP.
    const { createResponse } = await import('../../src/sip/transaction/response.js');
    await node.layer.send(createResponse(m!.message as never, 200), m!.source);
    expect((await peer.next()).toString()).toMatch(/^SIP\/2\.0 200 /);
    expect(node.layer.counters.snapshot().sent).toEqual({ udp: 2, tcp: 0, tls: 0 });
  });
});
