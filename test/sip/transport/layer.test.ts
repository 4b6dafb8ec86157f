import { afterEach, describe, expect, it } from 'vitest';
import { Headers, SipRequest, SipResponse, isRequest, type SipMessage } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { serializeMessage } from '../../../src/sip/serializer.js';
import { parseVia } from '../../../src/sip/headers/via.js';
import { TransportError, type ReceivedMessage, type TransportAddress } from '../../../src/sip/transport/types.js';
import { closeAll, closers, newTrace, packets, rawTcp, rawUdp, requestText, startNode, waitForNote } from './helpers.js';

afterEach(closeAll);

const A = '127.0.20.1';
const B = '127.0.20.2';
const C = '127.0.20.3';

function options(from: TransportAddress, to: string, extra = ''): SipRequest {
  const h = new Headers()
    .append('Via', `SIP/2.0/${from.transport.toUpperCase()} ${from.address}:${from.port};branch=z9hG4bK-${extra || 'x'}${Math.random().toString(36).slice(2, 8)};rport`)
    .append('Max-Forwards', '70')
    .append('From', '<sip:alice@example.org>;tag=a1')
    .append('To', '<sip:bob@example.org>')
    .append('Call-ID', `call-${extra}@example.org`)
    .append('CSeq', '1 OPTIONS');
  return new SipRequest('OPTIONS', `sip:bob@${to}`, h);
}

function okFor(r: ReceivedMessage): SipResponse {
  const req = r.message as SipRequest;
  const h = new Headers();
  for (const v of req.headers.getAll('Via')) h.append('Via', v);
  h.append('From', req.headers.get('From')!);
  h.append('To', req.headers.get('To')! + ';tag=b1');
  h.append('Call-ID', req.headers.get('Call-ID')!);
  h.append('CSeq', req.headers.get('CSeq')!);
  return new SipResponse(200, 'OK', h);
}

describe('TransportLayer: request and response', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    it(`carries a request and its response over ${transport.toUpperCase()}, with trace bytes equal to the bytes received`, async () => {
      const { trace, events } = newTrace();
      const a = await startNode('a', A, trace);
      const b = await startNode('b', B, trace);
      const req = options(a.layer.localAddress(transport), B, transport);
      const atB = b.next();
      await a.layer.send(req, b.layer.localAddress(transport));
      const [got] = await atB;
      expect(isRequest(got!.message)).toBe(true);
      expect(got!.source.address).toBe(A);
      expect(got!.source.transport).toBe(transport);
      expect(got!.local).toEqual(b.layer.localAddress(transport));
      if (transport === 'tcp') expect(got!.connectionId).toMatch(/^tcp-/);

      const atA = a.next();
      await b.layer.send(okFor(got!), got!.source, { connectionId: got!.connectionId });
      const [resp] = await atA;
      expect((resp!.message as SipResponse).status).toBe(200);

      const p = packets(events);
      expect(p.map((e) => `${e.node} ${e.direction} ${e.transport}`)).toEqual([
        `a send ${transport}`,
        `b recv ${transport}`,
        `b send ${transport}`,
        `a recv ${transport}`,
      ]);
      // What was traced as sent is what arrived, and what was traced as received is what the layer parsed.
      expect(p[0]!.bytes.equals(serializeMessage(req))).toBe(true);
      expect(p[1]!.bytes.equals(p[0]!.bytes)).toBe(true);
      expect(p[1]!.bytes.equals(got!.raw)).toBe(true);
      expect(p[3]!.bytes.equals(p[2]!.bytes)).toBe(true);
      expect(p[0]!.local).toEqual({ address: A, port: p[1]!.remote.port });
      expect(p[1]!.remote.address).toBe(A);
      if (transport === 'tcp') {
        // The response went back over the connection the request came on: same ports, one connection.
        expect(p[2]!.remote).toEqual(p[1]!.remote);
        expect(p[3]!.local).toEqual(p[0]!.local);
      }
    });
  }

  it('adds received and fills rport on the top Via (RFC 3261 §18.2.1, RFC 3581 §4), and answers to them', async () => {
    const { trace, events } = newTrace();
    const b = await startNode('b', B, trace);
    const raw = await rawUdp(C);
    const bytes = requestText({ via: `SIP/2.0/UDP phone.invalid:5999;branch=z9hG4bK-r1;rport` });
    const atB = b.next();
    await raw.send(bytes, b.layer.localAddress('udp').port, B);
    const [got] = await atB;
    const via = parseVia(got!.message.headers.first('Via')!);
    expect(via.received).toBe(C);
    expect(via.rport).toBe(raw.port);
    // The trace holds the bytes as they were on the wire, before the Via was stamped.
    const recv = packets(events).find((e) => e.direction === 'recv')!;
    expect(recv.bytes.toString()).toBe(bytes);
    // The response goes to received:rport, not to phone.invalid:5999.
    await b.layer.send(okFor(got!), { transport: 'udp', address: '127.0.0.99', port: 9 });
    const resp = parseMessage(await raw.next()) as SipResponse;
    expect(resp.status).toBe(200);
    const back = parseVia(resp.headers.first('Via')!);
    expect([back.received, back.rport]).toEqual([C, raw.port]);
  });

  it('adds received without rport when sent-by differs from the source and leaves a matching Via alone', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace);
    const raw = await rawUdp(C);
    let atB = b.next();
    await raw.send(requestText({ via: `SIP/2.0/UDP 127.0.20.9:5060;branch=z9hG4bK-r2` }), b.layer.localAddress('udp').port, B);
    expect((await atB)[0]!.message.headers.first('Via')).toBe(`SIP/2.0/UDP 127.0.20.9:5060;branch=z9hG4bK-r2;received=${C}`);
    atB = b.next();
    await raw.send(requestText({ via: `SIP/2.0/UDP ${C}:${raw.port};branch=z9hG4bK-r3` }), b.layer.localAddress('udp').port, B);
    expect((await atB)[0]!.message.headers.first('Via')).toBe(`SIP/2.0/UDP ${C}:${raw.port};branch=z9hG4bK-r3`);
  });

  it('drops a response whose top Via is not its own, with a note (RFC 3261 §18.1.2)', async () => {
    const { trace } = newTrace();
    const a = await startNode('a', A, trace);
    const raw = await rawUdp(C);
    const seen: ReceivedMessage[] = [];
    a.inbound.subscribe((m) => seen.push(m));
    const foreign =
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.20.77:5060;branch=z9hG4bK-f\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n` +
      `Call-ID: f@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    const note = waitForNote(trace, /response 200 dropped: top Via sent-by is not this node/);
    await raw.send(foreign, a.layer.localAddress('udp').port, A);
    expect((await note).clause).toBe('RFC 3261 §18.1.2');
    // Its own Via is accepted.
    const own = foreign.replace('127.0.20.77:5060', `${A}:${a.layer.localAddress('udp').port}`);
    const next = a.next();
    await raw.send(own, a.layer.localAddress('udp').port, A);
    expect(((await next)[0]!.message as SipResponse).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('sends a request larger than 1300 bytes over TCP with the Via saying TCP (RFC 3261 §18.1.1)', async () => {
    const { trace, events } = newTrace();
    const a = await startNode('a', A, trace);
    const b = await startNode('b', B, trace);
    const req = options(a.layer.localAddress('udp'), B, 'big');
    req.headers.append('Content-Type', 'text/plain');
    req.body = Buffer.alloc(1400, 'y');
    const atB = b.next();
    await a.layer.send(req, b.layer.localAddress('udp'));
    const [got] = await atB;
    expect(got!.source.transport).toBe('tcp');
    const via = parseVia(got!.message.headers.first('Via')!);
    expect(via.transport).toBe('TCP');
    expect(via.port).toBe(a.layer.localAddress('tcp').port);
    expect(packets(events).filter((p) => p.transport === 'udp')).toHaveLength(0);
    // A small one still goes over UDP.
    const small = b.next();
    await a.layer.send(options(a.layer.localAddress('udp'), B, 'small'), b.layer.localAddress('udp'));
    expect((await small)[0]!.source.transport).toBe('udp');
  });

  it('reuses one TCP connection per peer and reports closed connections', async () => {
    const { trace } = newTrace();
    const a = await startNode('a', A, trace);
    const b = await startNode('b', B, trace);
    const atB = b.next(3);
    for (let i = 0; i < 3; i++) await a.layer.send(options(a.layer.localAddress('tcp'), B, `reuse${i}`), b.layer.localAddress('tcp'));
    const got = await atB;
    expect(new Set(got.map((g) => g.connectionId)).size).toBe(1);
    expect(new Set(got.map((g) => g.source.port)).size).toBe(1);
    const closed = waitForNote(trace, /connection tcp-\d+ with .* closed/, 3000, 'a');
    await b.layer.close();
    await closed;
    expect(a.layer.isConnectionOpen(got[0]!.connectionId!)).toBe(false);
  });

  it('rejects with TransportError when nothing listens (→ 503 above, RFC 3261 §8.1.3.1)', async () => {
    const { trace } = newTrace();
    const a = await startNode('a', A, trace);
    const to: TransportAddress = { transport: 'tcp', address: B, port: 25999 };
    const err = await a.layer.send(options(a.layer.localAddress('tcp'), B, 'refused'), to).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).destination).toEqual(to);
    await expect(a.layer.send(options(a.layer.localAddress('udp'), B), { transport: 'udp', address: '10.0.0.1', port: 5060 })).rejects.toThrow(
      /not a loopback address/,
    );
  });
});

describe('TransportLayer: streams', () => {
  it('writes what a turn sent on a connection before a close in the same turn lets the connection go', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace);
    const client = await rawTcp(C, b.layer.localAddress('tcp').port, B);
    const at = b.next();
    client.socket.write(requestText({ via: `SIP/2.0/TCP ${C}:5060;branch=z9hG4bK-lastturn` }));
    const [got] = await at;
    // Three answers queued for the turn's one write, then the node stops before the turn ends.
    const sent = [1, 2, 3].map(() => b.layer.send(okFor(got!), got!.source, { connectionId: got!.connectionId }));
    const closing = b.layer.close();
    await Promise.all([...sent, closing]);
    await client.closed;
    expect(client.received().match(/^SIP\/2\.0 200 OK\r\n/gm)).toHaveLength(3);
  });

  it('frames many messages pipelined in one write and a message split across chunks', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace);
    const client = await rawTcp(C, b.layer.localAddress('tcp').port, B);
    const many = Array.from({ length: 50 }, (_, i) =>
      requestText({ via: `SIP/2.0/TCP ${C}:5060;branch=z9hG4bK-p${i}`, cseq: i + 1, bodySize: i }),
    );
    const at = b.next(50);
    client.socket.write(many.join(''));
    const got = await at;
    expect(got.map((g) => Number(g.message.headers.get('CSeq')!.split(' ')[0]))).toEqual(many.map((_, i) => i + 1));
    expect(got.map((g) => g.message.body.length)).toEqual(many.map((_, i) => i));

    const one = requestText({ via: `SIP/2.0/TCP ${C}:5060;branch=z9hG4bK-split`, bodySize: 40 });
    const split = b.next();
    const cuts = [5, 61, one.indexOf('\r\n\r\n') + 2, one.length - 3];
    let from = 0;
    for (const cut of [...cuts, one.length]) {
      await new Promise<void>((r) => client.socket.write(one.slice(from, cut), () => r()));
      from = cut;
    }
    const [whole] = await split;
    expect(whole!.raw.toString()).toBe(one);
  });

  it('closes a connection that sends 1 MB of garbage, and another client is served meanwhile', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace);
    b.inbound.subscribe((r) => {
      if (isRequest(r.message)) void b.layer.send(okFor(r), r.source, { connectionId: r.connectionId });
    });
    const port = b.layer.localAddress('tcp').port;
    const bad = await rawTcp(C, port, B);
    const good = await rawTcp('127.0.20.4', port, B);
    const note = waitForNote(trace, /closed: unframeable stream/);
    bad.socket.write(Buffer.alloc(1024 * 1024, 0x41));
    good.socket.write(requestText({ via: `SIP/2.0/TCP 127.0.20.4:5060;branch=z9hG4bK-good` }));
    await good.until(/SIP\/2\.0 200 OK/);
    expect((await note).clause).toBe('RFC 3261 §18.3');
    await bad.closed;
    // The node still serves: the same good connection gets a second answer.
    good.socket.write(requestText({ via: `SIP/2.0/TCP 127.0.20.4:5060;branch=z9hG4bK-good2`, cseq: 2 }));
    await good.until(/CSeq: 2 OPTIONS/);
  });

  it('closes a connection whose header never ends once it passes the size limit', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace, { limits: { maxMessageSize: 4096 } });
    const client = await rawTcp(C, b.layer.localAddress('tcp').port, B);
    const note = waitForNote(trace, /unframeable stream/);
    client.socket.write('OPTIONS sip:b SIP/2.0\r\nSubject: ');
    for (let i = 0; i < 10; i++) client.socket.write('z'.repeat(1000));
    await note;
    await client.closed;
  });

  it('refuses connections beyond the limit', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace, { limits: { maxConnections: 1 } });
    const port = b.layer.localAddress('tcp').port;
    await rawTcp(C, port, B);
    const note = waitForNote(trace, /refused: limit of 1 connections/);
    const second = await rawTcp('127.0.20.4', port, B);
    await note;
    await second.closed;
  });
});

describe('TransportLayer: bad input', () => {
  it('drops binary junk over UDP with a note and processes the next message normally', async () => {
    const { trace, events } = newTrace();
    const b = await startNode('b', B, trace);
    const raw = await rawUdp(C);
    const port = b.layer.localAddress('udp').port;
    const note = waitForNote(trace, /malformed request dropped: /);
    await raw.send(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x0d, 0x0a, 0x00]), port, B);
    await note;
    const next = b.next();
    await raw.send(requestText({ via: `SIP/2.0/UDP ${C}:${raw.port};branch=z9hG4bK-after` }), port, B);
    expect((await next)[0]!.message.headers.get('Call-ID')).toBe('c1@example.org');
    expect(packets(events).filter((p) => p.direction === 'recv')).toHaveLength(2);
  });

  it('answers a malformed request with a readable Via with 400, the reason and a Warning 399', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace);
    const raw = await rawUdp(C);
    const bad = requestText({ via: `SIP/2.0/UDP ${C}:${raw.port};branch=z9hG4bK-bad` }).replace(
      'CSeq: 1 OPTIONS',
      'CSeq: 1 OPTIONS\r\nContent-Length: many',
    );
    await raw.send(bad, b.layer.localAddress('udp').port, B);
    const resp = parseMessage(await raw.next()) as SipResponse;
    expect(resp.status).toBe(400);
    expect(resp.reason).toContain('Content-Length');
    expect(resp.headers.get('Warning')).toMatch(/^399 127\.0\.20\.2:\d+ ".*Content-Length.*"$/);
    expect(resp.headers.get('Call-ID')).toBe('c1@example.org');
    expect(resp.headers.get('CSeq')).toBe('1 OPTIONS');
    expect(resp.headers.get('To')).toMatch(/;tag=[0-9a-f]+$/);
  });

  it('answers a malformed request over TCP with 400 on the same connection', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace);
    const client = await rawTcp(C, b.layer.localAddress('tcp').port, B);
    // The Via names a port nobody listens on: only the connection can carry the answer back.
    client.socket.write(
      requestText({ via: `SIP/2.0/TCP ${C}:25998;branch=z9hG4bK-nocolon` }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 OPTIONS\r\nBroken line'),
    );
    await client.until(/^SIP\/2\.0 400 Bad Request \(Header line without a colon: "Broken line"\)\r\n/);
  });

  it('drops a malformed request without enough to answer, and never answers an ACK', async () => {
    const { trace } = newTrace();
    const b = await startNode('b', B, trace);
    const raw = await rawUdp(C);
    const port = b.layer.localAddress('udp').port;
    let note = waitForNote(trace, /malformed request dropped: Missing Call-ID/);
    await raw.send(requestText({ via: `SIP/2.0/UDP ${C}:${raw.port};branch=z9hG4bK-n` }).replace(/Call-ID: .*\r\n/, ''), port, B);
    await note;
    note = waitForNote(trace, /malformed request dropped/);
    await raw.send(requestText({ method: 'ACK', via: `SIP/2.0/UDP ${C}:${raw.port};branch=z9hG4bK-ack` }).replace('Content-Length: 0', 'Content-Length: x'), port, B);
    await note;
    // Nothing came back for either.
    await expect(raw.next(200)).rejects.toThrow(/no datagram/);
  });
});

export type { SipMessage };
void closers;

describe('TransportLayer: IPv6', () => {
  it('carries a request and its response between two nodes on ::1 over UDP and TCP', async () => {
    const { trace } = newTrace();
    const a = await startNode('a6', '::1', trace);
    const b = await startNode('b6', '::1', trace);
    for (const transport of ['udp', 'tcp'] as const) {
      const from = a.layer.localAddress(transport);
      const req = options({ ...from, address: '[::1]' }, '[::1]', `v6${transport}`);
      const atB = b.next();
      await a.layer.send(req, b.layer.localAddress(transport));
      const [got] = await atB;
      expect(got!.source).toMatchObject({ transport, address: '::1' });
      // The request asked for rport (RFC 3581 §4): received is the bare IPv6 address, rport the source port.
      const via = parseVia(got!.message.headers.first('Via')!);
      expect([via.received, via.rport]).toEqual(['::1', got!.source.port]);
      const atA = a.next();
      await b.layer.send(okFor(got!), got!.source, { connectionId: got!.connectionId });
      expect(((await atA)[0]!.message as SipResponse).status).toBe(200);
    }
  });
});
